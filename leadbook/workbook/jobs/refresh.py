"""What the Check inputs and Refresh buttons and the new and demo commands do to a workbook file.

Each job reads through :mod:`leadbook.workbook.read`, computes with the core, and writes
through :func:`leadbook.workbook.write.update_workbook`, so every face (CLI, button,
scheduler) gives the same result on the same file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.errors import Problem
from leadbook.workbook.jobs.build import Rendered, build_workbook
from leadbook.workbook.layout import fit_text, now
from leadbook.workbook.provenance import PORTFOLIO, Fingerprints, stale_problems, stamp_tabs
from leadbook.workbook.read import (
    Book,
    inspect_workbook,
    lead_problems,
    open_inputs,
    read_book,
)
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.tabs.general import render_start
from leadbook.workbook.write import (
    WriteResult,
    one_job,
    one_job_per_workbook,
    save_new,
    update_workbook,
)

REFRESH_TABS = (
    C.TIERS.name,
    C.SCORES.name,
    C.ROI.name,
    C.FORECAST.name,
    C.FORECAST_DETAIL.name,
    C.HIRING.name,
    C.DECISIONS.name,
)


@dataclass(frozen=True)
class CheckResult:
    """Every problem found in a workbook's inputs."""

    path: Path
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def check(path: str | Path, *, write: bool = False) -> CheckResult:
    """Every input problem of the workbook, and each output tab whose inputs changed since it
    was computed (a warning containing "stale"); with ``write``, listed on its Start tab too."""
    with one_job(path) if write else contextlib.nullcontext():
        return _check(path, write=write)


def _check(path: str | Path, *, write: bool) -> CheckResult:
    wb = open_inputs(path, keep=C.INPUT_SHEETS)  # every input table is read next
    book, problems = inspect_workbook(wb, Path(path))
    problems += lead_problems(wb, list(book.inventory.names) if book is not None else None)
    problems += stale_problems(wb)
    if write:

        def job(wb: Workbook) -> str:
            render_start(replace_sheet(wb, C.START.name), {}, problems)
            return f"input check: {len(problems)} problem(s) listed on Start"

        kept = book.settings.files.versions_kept if book is not None else None  # (read above)
        update_workbook(path, "check", job, changes=(C.START.name,), versions_kept=kept)
    return CheckResult(Path(path), tuple(problems))


@one_job_per_workbook
def refresh(
    path: str | Path,
    tabs: tuple[str, ...] = REFRESH_TABS,
    progress: Callable[[str], None] | None = None,
    book: Book | None = None,
) -> WriteResult:
    """Recompute the given output tabs (by default all of :data:`REFRESH_TABS`) in place,
    from ``book`` when the caller has just read it (else the file is read)."""
    # (here, not above: Check, which imports this module too, renders no output tab)
    from leadbook.workbook.jobs.outputs import RENDERED_ANEW, SUMMARY_RENDERERS, render_outputs

    book = book if book is not None else read_book(path)
    if book.fingerprints is not None:  # the stamps' fingerprints now, the cells let go
        book.fingerprints.settle(PORTFOLIO)

    def job(wb: Workbook) -> str:
        render_outputs(wb, book, tabs, progress)
        return f"refreshed {', '.join(tabs)} for {len(book.inventory.sources)} sources"

    # ``changes``: the output tabs refresh leaves (Allocation, What-if, Leads…) are cut from
    # the load and spliced back as they were, as every other job's are; ``replaced``: of
    # those it renders, the ones rendered from the book alone are loaded cut to their title
    # (the Forecast detail and Hiring tabs were 40 % of the load on the demo)
    return update_workbook(
        path,
        "refresh",
        job,
        book=book,
        changes=tabs,
        summaries=SUMMARY_RENDERERS,
        replaced=tuple(t for t in tabs if t in RENDERED_ANEW),
    )


def new(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the template workbook: the contract's tabs, one example row in each input table
    (check reports it until it is replaced), the output tabs empty."""
    from leadbook.portfolio.inventory import build_inventory
    from leadbook.workbook.examples import example_leads, example_tables, mark_examples

    tables = example_tables()
    inventory, _ = build_inventory(
        tables[C.SOURCES_TABLE.name],
        tables[C.PRICE_TIERS_TABLE.name],
        tables[C.HISTORY_TABLE.name],
    )
    rendered = build_workbook(inventory, leads=example_leads(), notes=TEMPLATE_NOTES)
    mark_examples(rendered.workbook)
    return save_new(rendered.workbook, path, overwrite=overwrite)


TEMPLATE_NOTES = (
    "Each input table starts with one example row (grey italics, named 'Example — …'): "
    "replace it with your own rows or delete it; Check inputs reports it until you do.",
)


def demo_book() -> Book:
    """The demo portfolio as a :class:`Book`."""
    from leadbook.demo import DEMO_STATED, demo_inventory, demo_leads, demo_settings

    return Book(demo_settings(), demo_inventory(), DEMO_STATED, leads=demo_leads())


def demo_workbook(progress: Callable[[str], None] | None = None) -> Rendered:
    """The demo workbook in memory, every output tab filled (``progress`` as for refresh)."""
    from leadbook.demo import DEMO_NOTES
    from leadbook.workbook.jobs.outputs import OUTPUT_RENDERERS, render_outputs

    book = demo_book()
    rendered = build_workbook(book.inventory, book.settings, book.stated, notes=DEMO_NOTES)
    from leadbook.demo import DEMO_SCENARIOS
    from leadbook.workbook.tabs.whatif import render_whatif

    render_whatif(
        replace_sheet(rendered.workbook, C.WHATIF.name), None, None, {}, starter=DEMO_SCENARIOS
    )
    tabs = tuple(OUTPUT_RENDERERS)
    rendered.expected.update(render_outputs(rendered.workbook, book, tabs, progress))
    wb = rendered.workbook
    stamp_tabs(wb, tabs, "demo (command line)", now(), Fingerprints(wb))
    from leadbook.workbook.jobs.decisions import inputs_text, plan_start, record_allocation_tab
    from leadbook.workbook.provenance import read_stamp

    stamp = read_stamp(wb[C.ALLOCATION.name])  # the demo's Rebalance, recorded as R0001
    inputs = inputs_text(stamp.inputs) if stamp is not None else ""
    record_allocation_tab(wb, inputs, plan_start(book.inventory.history))
    for name in tabs:
        fit_text(wb[name])
    return rendered


def demo(
    path: str | Path, *, overwrite: bool = True, progress: Callable[[str], None] | None = None
) -> tuple[Path, Book]:
    """Write the demo workbook to ``path``; returns the path and the demo book."""
    rendered = demo_workbook(progress)
    from leadbook.workbook.log import append_log

    append_log(rendered.workbook, "demo", "built the demo workbook (TechFlow portfolio)")
    return save_new(rendered.workbook, path, overwrite=overwrite, command="demo"), demo_book()


def frame_summary(book: Book) -> pd.DataFrame:
    """One row per source: class, score and share — what the CLI prints after a refresh."""
    from leadbook.workbook.jobs.computed import book_classes, book_scores

    classes = book_classes(book)  # as the Tiers and Scores tabs of a refresh of it had them
    scores = book_scores(book)
    src = book.inventory.sources
    total = src["spend"].sum()
    return pd.DataFrame(
        {
            "tier": classes["tier"],
            "lead_type": classes["lead_type"],
            "risk": classes["risk"],
            "score": scores["composite"],
            "rank": scores["rank"],
            "spend": src["spend"],
            "share": src["spend"] / total if total else 0.0,
        }
    ).sort_values("rank")
