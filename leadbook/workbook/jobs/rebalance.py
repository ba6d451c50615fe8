"""The Rebalance job: read the workbook, allocate, rewrite the Allocation tab (and the Log).

The allocation is solved (with what :mod:`leadbook.workbook.jobs.feeds` feeds it) before the
file is opened for writing, so an infeasible policy or any other error leaves the workbook
byte-identical; only :func:`leadbook.workbook.write.update_workbook` writes.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.allocation import Allocation
from leadbook.enums import ConversionSource, Objective
from leadbook.errors import InfeasiblePolicyError
from leadbook.workbook.jobs.decisions import inputs_text, plan_start, record_recommendation
from leadbook.workbook.jobs.feeds import book_allocation
from leadbook.workbook.jobs.outputs import SUMMARY_RENDERERS
from leadbook.workbook.layout import BAD_FILL, BAD_FONT, formula_values, now
from leadbook.workbook.memory import open_copy
from leadbook.workbook.provenance import DEPENDS, FAILED_MARK, PORTFOLIO, read_stamp
from leadbook.workbook.read import open_inputs, read_book
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.tabs.allocation import render_allocation
from leadbook.workbook.tabs.decisions import log_is_started
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook


@one_job_per_workbook
def rebalance(
    path: str | Path, *, weeks: int | None = None, objective: Objective | str | None = None
) -> tuple[WriteResult, Allocation]:
    """Rebalance the workbook at ``path``: write the Allocation tab and a Log row.

    ``weeks``: the glide path's length; None takes the GlideWeeks setting (1: next week).

    Raises :class:`~leadbook.errors.InfeasiblePolicyError` when the policy on its Settings
    tab cannot be met, after marking the Allocation tab stale and logging why; bad inputs
    raise before anything is written.
    """
    book = read_book(path)
    weeks = book.settings.policy.glide_weeks if weeks is None else weeks
    try:
        allocation, feeds = book_allocation(book, weeks=weeks, objective=objective)
    except InfeasiblePolicyError as exc:
        _mark_stale(path, exc, book.settings.files.versions_kept)
        raise
    if book.fingerprints is not None:  # the stamp's fingerprints now, the cells let go
        book.fingerprints.settle(PORTFOLIO)
    model_fed = book.settings.leads.conversion_source is ConversionSource.MODEL

    appends = _log_started(path)  # a started log is appended to without loading its tab
    groups = DEPENDS[C.ALLOCATION.name] + (("Leads",) if model_fed else ())
    inputs = (
        inputs_text({g: book.fingerprints.of(C.ALLOCATION.name, g) for g in groups})
        if book.fingerprints is not None
        else ""
    )

    def job(wb: Workbook) -> str:
        ws = replace_sheet(wb, C.ALLOCATION.name)
        render_allocation(ws, allocation, book.settings, formula_values(wb), feeds=feeds)
        rec_id = record_recommendation(wb, allocation, inputs, plan_start(book.inventory.history))
        t = allocation.totals
        plan = f" and a {weeks}-week glide path" if weeks > 1 else ""
        return (
            f"rebalanced {len(allocation.table)} sources ({allocation.objective.value}): "
            f"${t.spend:,.0f} a month for {t.customers:,.1f} expected customers{plan} "
            f"(recommendation {rec_id}); "
            f"sales capacity {feeds.sales_capacity.text}"
        )

    extra = {C.ALLOCATION.name: ("Leads",)} if model_fed else None
    return update_workbook(
        path,
        "rebalance",
        job,
        book=book,
        extra_groups=extra,
        changes=(C.ALLOCATION.name,) if appends else (C.ALLOCATION.name, C.DECISIONS.name),
        summaries=SUMMARY_RENDERERS,
    ), allocation


def _log_started(path: str | Path) -> bool:
    """Whether the workbook file at ``path`` holds a Decisions log with rows (its tab is then
    appended to, not loaded); False for a button's copy open already (loaded whole)."""
    if open_copy(Path(path)) is not None:
        return False
    streamed = open_inputs(path)
    return C.DECISIONS.name in streamed.sheetnames and log_is_started(streamed[C.DECISIONS.name])


def _mark_stale(path: str | Path, problem: InfeasiblePolicyError, versions_kept: int) -> None:
    """Say on the Allocation tab's status cell that the recommendation there no longer
    follows the inputs, because the policy cannot be met; a Log row says why. (Bad inputs
    and missing feeds write nothing: ``leadbook check`` reports the tab stale.)"""
    status = C.NAMED_CELLS["RebalanceStatus"]
    lines = str(problem).splitlines()
    first = " ".join(line.strip(" -") for line in lines[:2])

    def job(wb: Workbook) -> str:
        if status.sheet not in wb.sheetnames:
            return f"rebalance: {first}"
        ws = wb[status.sheet]
        old = read_stamp(ws)
        shown = f"the allocation below (of {old.when:%Y-%m-%d %H:%M})" if old else "this tab"
        ws[status.cell] = (
            f"{FAILED_MARK}Rebalance at {now():%Y-%m-%d %H:%M} found the policy cannot be "
            f"met (see the Log); {shown} no longer follows the inputs"
        )
        ws[status.cell].font = BAD_FONT
        ws[status.cell].fill = BAD_FILL
        return f"the policy cannot be met, Allocation marked stale: {first}"

    update_workbook(
        path, "rebalance", job, versions_kept=versions_kept, changes=(C.ALLOCATION.name,)
    )
