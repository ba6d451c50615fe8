"""Render the board pack's first page for the docs: demo workbook → pack → PDF → PNG.

    .venv/bin/python docs/board_pictures.py        # writes docs/img/board-page1.png

The same steps a board member's copy goes through: ``leadbook board`` on the demo workbook
with ``--pdf`` (headless LibreOffice), then page 1 rasterised by pdftoppm.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from leadbook.workbook.jobs.leads import score_leads
from leadbook.workbook.jobs.pack import export_board_pack
from leadbook.workbook.jobs.refresh import demo as write_demo

HERE = Path(__file__).parent
DPI = 100


def main() -> Path:
    with tempfile.TemporaryDirectory(prefix="leadbook-board-") as tmp:
        book, _ = write_demo(Path(tmp) / "demo.xlsx")
        score_leads(book, retrain=True)  # as `leadbook demo` does
        result = export_board_pack(book, "2026Q4", Path(tmp) / "pack", pdf=True)
        target = HERE / "img" / "board-page1.png"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(DPI),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(result.pdf),
                str(target.with_suffix("")),
            ],
            check=True,
        )
    return target


if __name__ == "__main__":
    print(main())
