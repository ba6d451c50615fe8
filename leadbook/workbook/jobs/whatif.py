"""The Compare scenarios job (``leadbook whatif BOOK``): read the Scenarios table on the
What-if tab, solve each scenario and the budget curve, rewrite the What-if tab (and the Log).

The scenarios are read and checked, and everything is solved, before anything is written:
bad input (an unknown setting, text in a number, a source that does not exist) raises an
error naming the sheet and cell, and the file is left byte-identical. A scenario's overrides
go through the Settings tab's own checks (:func:`leadbook.settings.settings_with`). A
workbook made before the What-if tab existed gets the tab, with an empty Scenarios table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.allocation.whatif import AS_SET, Scenario, SourceOverride, budget_curve, run_scenarios
from leadbook.contract.tables import number_text
from leadbook.enums import Status
from leadbook.errors import Problem, raise_errors
from leadbook.settings import section_title, settings_with, spec_for
from leadbook.workbook.jobs.feeds import allocation_feeds, sales_capacity_for
from leadbook.workbook.layout import formula_values
from leadbook.workbook.provenance import PORTFOLIO
from leadbook.workbook.read import Book, read_book
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.tabs.whatif import KeptTable, WhatIfView, kept_table, render_whatif
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook

SHEET = C.WHATIF.name
SOLVED = frozenset({"policy", "bands", "capacity", "hiring", "objective_weights"})
"""Settings sections a scenario's solve reads: the policy, its bands, the capacity (with the
hiring terms a hiring-plan capacity uses) and the objective's weights. The sources are
classified, scored and given their conversion rates once, for the Settings as set."""
UNSOLVED_NAMES = frozenset({"GlideWeeks"})
"""Settings of those sections a scenario does not read either (it solves next week)."""
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def read_scenarios(kept: KeptTable | None, book: Book) -> list[Scenario]:
    """The scenarios of the Scenarios table, every one checked; one error lists every
    problem, each at its cell (``What-if!B7``).

    A row with every cell blank is skipped. A column whose header is a setting's defined
    name overrides that setting; a column headed ``Note…`` is ignored; any other header is
    an error, and so is a cell filled beside or below the table, outside it (the rewrite
    would lose it).
    """
    spec = C.WHATIF_SCENARIOS_TABLE
    if kept is not None and kept.outside:
        (at, value), *more = kept.outside
        raise_errors(
            [
                Problem(
                    f"{SHEET}!{at}",
                    f"{value!r} is outside the {spec.name} table ({kept.ref}), and Compare "
                    "scenarios rewrites the tab around the table: it would be lost. Take it into "
                    "the table (in Excel: Table Design › Resize Table) or clear the cell",
                ),
                *(Problem(f"{SHEET}!{a}", f"{v!r} is outside it too") for a, v in more[:4]),
                *([Problem(SHEET, f"… and {len(more) - 4:,} more cells")] if len(more) > 4 else []),
            ]
        )
    if kept is None or kept.rows < 1:
        return []
    min_col, min_row, _, _ = range_boundaries(kept.ref)
    headers = kept.cells[0]
    by_header = {_norm(c.header): c.key for c in spec.columns}
    problems: list[Problem] = []
    roles: dict[int, str] = {}
    for j, header in enumerate(headers):
        text = _norm(header)
        if text in by_header:
            roles[j] = by_header[text]
            _once(roles, j, header, min_row, min_col, problems)
        elif text.startswith("note") or not text:
            continue
        else:
            try:
                found = spec_for(str(header).strip())
                if found.section in SOLVED and found.name not in UNSOLVED_NAMES:
                    roles[j] = "setting:" + found.name
                    _once(roles, j, header, min_row, min_col, problems)
                else:  # not read as a setting either: its group's checks would say more
                    problems.append(
                        Problem(
                            _cell(min_row, min_col + j),
                            f"{found.name} ({section_title(found.section)}) changes nothing a "
                            "scenario solves: each scenario solves next week's allocation with "
                            "its policy, bands, capacity and objective weights, on the sources "
                            "as the Settings as set classify, score and convert them (and the "
                            "budget curve is drawn once, for those Settings). Set it on the "
                            "Settings tab and press Rebalance, or head the column 'Note'",
                        )
                    )
            except KeyError as exc:
                problems.append(
                    Problem(
                        _cell(min_row, min_col + j),
                        f"the column {header!r} of {spec.name} is not one of its columns and "
                        f"not a setting ({exc.args[0]}); head it with a setting's defined name "
                        "(MaxSourceShare, SalesReps…) or 'Note'",
                    )
                )
    if "scenario" not in roles.values():
        problems.append(Problem(_cell(min_row, min_col), f"{spec.name} has no Scenario column"))
        raise_errors(problems)
    seen: dict[str, str] = {}
    scenarios = []
    for i, values in enumerate(kept.cells[1:], start=1):
        row = min_row + i
        cells = {roles[j]: (v, _cell(row, min_col + j)) for j, v in enumerate(values) if j in roles}
        if all(_blank(v) for v, _ in cells.values()):
            continue
        found = _scenario(cells, book, seen, problems)
        if found is not None:
            scenarios.append(found)
    raise_errors(problems)
    return scenarios


def _once(
    roles: dict[int, str], j: int, header: object, row: int, col: int, problems: list[Problem]
) -> None:
    """A problem at column ``j``'s header if an earlier column sets the same thing (the
    Budget column and ``Budget``'s key, a setting by its defined name and by its key): the
    later would silently win. The later column is then left unread."""
    role = roles[j]
    same = {role, "budget", "setting:Budget"} if role in ("budget", "setting:Budget") else {role}
    earlier = next((k for k, r in roles.items() if k != j and r in same), None)
    if earlier is None:
        return
    del roles[j]
    problems.append(
        Problem(
            _cell(row, col + j),
            f"the column {str(header).strip()!r} sets what column "
            f"{get_column_letter(col + earlier)} already sets; keep one of them",
        )
    )


def _scenario(
    cells: dict[str, tuple[Any, str]],
    book: Book,
    seen: dict[str, str],
    problems: list[Problem],
) -> Scenario | None:
    raw_name, where = cells["scenario"]
    name = "" if _blank(raw_name) else str(raw_name).strip()
    before = len(problems)
    if not name:
        problems.append(Problem(where, "the scenario has no name; name it or clear the row"))
    elif name.casefold() == AS_SET.casefold():
        problems.append(Problem(where, f"{AS_SET!r} is the Settings unchanged; rename it"))
    elif name.casefold() in seen:
        problems.append(
            Problem(where, f"the scenario {name!r} appears twice (also at {seen[name.casefold()]})")
        )
    else:
        seen[name.casefold()] = where
    rows = []
    for role, (value, at) in cells.items():
        key = "Budget" if role == "budget" else role.removeprefix("setting:")
        overrides = role == "budget" or role.startswith("setting:")
        if overrides and not _blank(value) and not _formula(value, at, problems):
            rows.append((key, value, at))
    changed, found = settings_with(book.settings, rows)
    problems += [p for p in found if p.severity == "error"]
    overrides = {key: changed.get(spec_for(key).key) for key, _, _ in rows}
    sources = _source_override(cells, book.inventory.sources, problems)
    if len(problems) > before:
        return None
    return Scenario(name, overrides, sources)


def _source_override(
    cells: dict[str, tuple[Any, str]], sources: Any, problems: list[Problem]
) -> dict[str, SourceOverride]:
    """The row's change to one source, checked as the Sources tab checks its own pins, caps
    and exclusions — together with that source's own (a scenario changes what it fills and
    keeps the rest) — and refused where it would change nothing (a paused source)."""
    pin, cap, exclude = (cells.get(k, (None, "")) for k in ("pin", "cap", "exclude"))
    source, where = cells.get("source", (None, ""))
    given = [v for v in (pin, cap, exclude) if not _blank(v[0])]
    if _blank(source):
        for value, at in given:
            problems.append(Problem(at, f"{value!r} changes no source: fill the Source column"))
        return {}
    name = str(source).strip()
    if name not in sources.index:
        problems.append(Problem(where, f"{name!r} is not a source on the Sources tab"))
        return {}
    amounts = [_amount(v, at, problems) for v, at in (pin, cap)]
    flag = str(exclude[0] if exclude[0] is not None else "").strip().casefold()
    if flag not in YES | NO:
        problems.append(Problem(exclude[1], f"Exclude must be yes or no, got {exclude[0]!r}"))
    if not given:
        problems.append(Problem(where, f"{name}: fill Pin spend, Cap spend or Exclude"))
    override = SourceOverride(amounts[0], amounts[1], flag in YES)
    _contradictions(name, sources.loc[name], override, (pin[1], cap[1]), problems)
    return {name: override}


def _contradictions(
    name: str, row: Any, o: SourceOverride, at: tuple[str, str], problems: list[Problem]
) -> None:
    """Problems where a scenario's pin, cap or exclusion, with what the Sources tab sets for
    the same source, asks for two things at once, or for nothing."""
    given = lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))  # noqa: E731
    pin_at, cap_at = at
    if row.get("status") == Status.PAUSED:
        if given(o.pin) or given(o.cap):
            problems.append(
                Problem(
                    pin_at if given(o.pin) else cap_at,
                    f"{name} is paused on the Sources tab, and a paused source gets no budget in "
                    "any scenario: the pin or cap would change nothing. To see it restarted, set "
                    "its Status to active or testing on the Sources tab",
                )
            )
        return  # off in every scenario: what the Sources tab pins or caps is never read
    if given(o.pin) and o.exclude:
        problems.append(
            Problem(
                pin_at,
                f"{name} would be both pinned (${o.pin:,.0f}) and excluded; a source cannot be "
                "both: keep one",
            )
        )
        return
    # A scenario's exclusion drops a pin set on the Sources tab, and its pin lifts an
    # exclusion set there (apply_scenario): only its cap can meet the tab's own pin.
    own = lambda key: row.get(key) if given(row.get(key)) else None  # noqa: E731
    pin = o.pin if given(o.pin) else (None if o.exclude else own("pin"))
    cap = o.cap if given(o.cap) else own("cap")
    whose = lambda mine: "" if mine else " on the Sources tab"  # noqa: E731
    if pin is not None and cap is not None and pin > cap:
        problems.append(
            Problem(
                pin_at if given(o.pin) else cap_at,
                f"{name} would be pinned at ${pin:,.0f}{whose(given(o.pin))}, above its spend "
                f"cap ${cap:,.0f}{whose(given(o.cap))}; lower the pin or raise the cap",
            )
        )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _formula(value: object, at: str, problems: list[Problem]) -> bool:
    """Whether ``value`` is a formula (a problem at ``at``: the scenario wants the value)."""
    if isinstance(value, str) and value.startswith("="):
        problems.append(Problem(at, f"holds a formula ({value}); type the value itself"))
        return True
    return False


def _amount(value: object, at: str, problems: list[Problem]) -> float | None:
    """A dollar amount ≥ 0 (blank: None); anything else is a problem at ``at``."""
    if _blank(value):
        return None
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and not value.startswith("="):
        try:
            number = float(number_text(value).lstrip("$"))
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        problems.append(Problem(at, f"must be a dollar amount ≥ 0, got {value!r}"))
        return None
    return number


def _cell(row: int, col: int) -> str:
    return f"{SHEET}!{get_column_letter(col)}{row}"


def whatif_view(book: Book, kept: KeptTable | None) -> WhatIfView:
    """Every scenario of ``kept`` ("As set" first) and the budget curve, solved for ``book``
    with the feeds its Rebalance uses."""
    scenarios = read_scenarios(kept, book)
    feeds = allocation_feeds(book)

    def capacity(inventory: Any, settings: Any) -> Any:
        if settings is book.settings:
            return feeds.sales_capacity
        return sales_capacity_for(inventory, settings)

    results = run_scenarios(feeds.inventory, book.settings, scenarios, capacity=capacity)
    curve = budget_curve(feeds.inventory, book.settings, sales_capacity=feeds.sales_capacity)
    text = (
        f"{len(scenarios)} scenario(s) against As set; budget curve of {len(curve.table)} "
        f"points from {curve.table['share'].iloc[0]:.0%} to {curve.table['share'].iloc[-1]:.0%} "
        f"of ${curve.budget:,.0f}. Edit the Scenarios table and press Compare scenarios again."
    )
    return WhatIfView(results, curve, text)


@one_job_per_workbook
def whatif(path: str | Path) -> tuple[WriteResult, WhatIfView]:
    """Compare the scenarios of the workbook at ``path``: rewrite its What-if tab (adding it
    to a workbook that lacks it) and a Log row. Bad scenarios raise before anything is
    written."""
    book = read_book(path)
    if book.fingerprints is not None:
        book.fingerprints.settle(PORTFOLIO)
    done: dict[str, WhatIfView] = {}

    def job(wb: Workbook) -> str:
        kept = kept_table(wb[SHEET]) if SHEET in wb.sheetnames else None
        view = whatif_view(book, kept)
        done["view"] = view
        render_whatif(replace_sheet(wb, SHEET), view, kept, formula_values(wb))
        scenarios = view.results[1:]  # the first is As set
        ok = sum(r.status == "optimal" for r in scenarios)
        return (
            f"compared {len(scenarios)} scenario(s) with As set ({ok} of them feasible) and a "
            f"{len(view.curve.table) if view.curve is not None else 0}-point budget curve"
        )

    result = update_workbook(path, "whatif", job, book=book, changes=(SHEET,))
    return result, done["view"]
