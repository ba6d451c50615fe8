"""The Start tab (the last input check) and the Log tab (every write leadbook made)."""

from __future__ import annotations

from leadbook.contract.spec import Column, Kind, Role, SheetSpec, TableSpec

# --- Start, Log -------------------------------------------------------------------------

PROBLEMS_TABLE = TableSpec(
    name="Problems",
    sheet="Start",
    anchor="A33",
    doc="What the last 'Check inputs' found.",
    columns=(
        Column("where", "Where", Kind.TEXT, Role.OUTPUT, width=26),
        Column("problem", "Problem", Kind.TEXT, Role.OUTPUT, width=90),
        Column("severity", "Severity", Kind.TEXT, Role.OUTPUT, width=10),
    ),
)


LOG_TABLE = TableSpec(
    name="Log",
    sheet="Log",
    anchor="A3",
    doc="Every write leadbook makes to this workbook.",
    columns=(
        Column("time", "Time", Kind.TIMESTAMP, Role.OUTPUT, width=20),
        Column("command", "Command", Kind.TEXT, Role.OUTPUT, width=24),
        Column("user", "User", Kind.TEXT, Role.OUTPUT, width=14),
        Column("changed", "What changed", Kind.TEXT, Role.OUTPUT, width=90),
    ),
)


# --- The tabs ---------------------------------------------------------------------------

START = SheetSpec(
    "Start",
    "What each tab is for, which button to press, and the last input check.",
    Role.OUTPUT,
    tables=(PROBLEMS_TABLE,),
    tab_color="1F4E78",
    buttons=("Check inputs",),
)


LOG = SheetSpec(
    "Log",
    "Every write leadbook made to this workbook.",
    Role.OUTPUT,
    tables=(LOG_TABLE,),
    tab_color="808080",
    buttons=("Undo",),
)
