"""Render the README's pictures of the demo workbook: LibreOffice → PDF → PNG.

    .venv/bin/python docs/screenshots.py            # writes docs/img/*.png

Each picture is one print area of one tab of the demo workbook, exported by headless
LibreOffice (the other tabs hidden, so only that page prints) and rasterised by pdftoppm.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from leadbook.workbook.jobs.refresh import demo as write_demo
from leadbook.workbook.libreoffice import convert

HERE = Path(__file__).parent
DPI = 160
SHOTS = {
    "sources": ("Sources", "A1:P23"),
    "tiers": ("Tiers", "A1:Q16"),
}


def render(name: str, tab: str, area: str, book: Path, out_dir: Path, work: Path) -> Path:
    import openpyxl

    wb = openpyxl.load_workbook(book)
    for ws in wb.worksheets:
        ws.sheet_state = "visible" if ws.title == tab else "hidden"
    wb.active = wb.sheetnames.index(tab)
    ws = wb[tab]
    ws.print_area = area
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1
    copy = work / f"{name}.xlsx"
    wb.save(copy)
    pdf = convert(copy, "pdf", work / "pdf")
    target = out_dir / f"{name}.png"
    x, y, w, h = content_box(pdf, DPI)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(DPI),
            "-singlefile",
            "-x",
            str(x),
            "-y",
            str(y),
            "-W",
            str(w),
            "-H",
            str(h),
            str(pdf),
            str(target.with_suffix("")),
        ],
        check=True,
    )
    return target


def content_box(pdf: Path, dpi: int, margin: int = 12) -> tuple[int, int, int, int]:
    """The bounding box of the non-white pixels of page 1, from a raw PPM render."""
    import numpy as np

    raw = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-singlefile", str(pdf)], check=True, capture_output=True
    ).stdout
    _magic, rest = raw.split(b"\n", 1)
    dims, rest = rest.split(b"\n", 1)
    width, height = map(int, dims.split())
    pixels = np.frombuffer(rest.split(b"\n", 1)[1], dtype=np.uint8).reshape(height, width, 3)
    ink = np.argwhere(pixels.min(axis=2) < 245)
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
    x, y = max(0, left - margin), max(0, top - margin)
    return x, y, min(width, right + margin) - x, min(height, bottom + margin) - y


def main() -> int:
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 1
    out_dir = HERE / "img"
    out_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        book, _ = write_demo(work / "leadbook-demo.xlsx")
        for name, (tab, area) in SHOTS.items():
            print(render(name, tab, area, book, out_dir, work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
