"""The generated KPI table of docs/board.md, from ``leadbook.board.specs.KPI_SPECS`` and the
Settings defaults.

    .venv/bin/python docs/boarddoc.py        # rewrite the table in place

The table sits between ``<!-- BEGIN kpis -->`` and ``<!-- END kpis -->``;
tests/test_docs.py fails when docs/board.md differs from what this module generates.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from leadbook.board.specs import KPI_SPECS, Direction, KpiSpec, Unit
from leadbook.settings import Settings

BOARD_MD = Path(__file__).parent / "board.md"


def _value(key: str, unit: Unit) -> str:
    value = Settings().get(key)
    if unit is Unit.PERCENT:
        return f"{value:.0%}"
    if unit is Unit.DOLLARS:
        return f"${value:,.0f}"
    return f"{value:g}"


def reads(spec: KpiSpec) -> str:
    """How a KPI reads against its target, with the Settings keys and their defaults.

    >>> from leadbook.board.kpis import kpi_spec
    >>> reads(kpi_spec("high_risk_share"))
    'within a band, both ends count: 10% (`bands.high_risk.min`) – 15% (`bands.high_risk.max`)'
    """
    if spec.direction is Direction.INFO or spec.target_key is None:
        return "for information (no target)"
    target = f"{_value(spec.target_key, spec.unit)} (`{spec.target_key}`)"
    if spec.direction is Direction.WITHIN and spec.floor_key is not None:
        floor = f"{_value(spec.floor_key, spec.unit)} (`{spec.floor_key}`)"
        return f"within a band, both ends count: {floor} – {target}"
    if spec.direction is Direction.NEAR and spec.tolerance_key is not None:
        tolerance = f"{Settings().get(spec.tolerance_key) * 100:.0f} points"
        return f"near {target}, within ± {tolerance} (`{spec.tolerance_key}`)"
    return f"{spec.direction.value} {target}"


def kpis() -> str:
    """One row per KPI: its key, label, definition, basis and how it reads against its
    target."""
    lines = [
        "| Key (`LB.KPI` name) | KPI | Definition | Basis | Reads against its target |",
        "|---|---|---|---|---|",
    ]
    for spec in KPI_SPECS:
        basis = spec.basis.value if spec.basis is not None else ""
        definition = spec.definition.replace("|", "\\|")
        lines.append(f"| `{spec.key}` | {spec.label} | {definition} | {basis} | {reads(spec)} |")
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` with the generated KPI table replaced by its current content."""
    pattern = re.compile(r"(<!-- BEGIN kpis -->\n)(?:.*?\n)?(<!-- END kpis -->)", re.S)
    if not pattern.search(text):
        raise ValueError("docs/board.md has no section 'kpis'")
    body = kpis()
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> int:
    BOARD_MD.write_text(render(BOARD_MD.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
