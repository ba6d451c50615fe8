"""leadbook's buttons as xlwings scripts: Refresh, Check inputs, Rebalance, Accept plan,
Compare scenarios, Refresh forecast, Plan hiring, Score leads, Score leads (retrain), Export
board pack and Undo.

Each script runs the same job as the command line (``leadbook refresh BOOK``, ``leadbook
check --write BOOK``, ``leadbook rebalance BOOK``, ``leadbook accept BOOK``, ``leadbook
whatif BOOK``, ``leadbook forecast BOOK``, ``leadbook
plan BOOK``, ``leadbook score-leads BOOK [--retrain]``, ``leadbook board BOOK``,
``leadbook undo BOOK``)
on the live workbook through :func:`udfs.book.run_job`, so a button and the command give
the same tables. A failing script writes nothing; its message reaches the task pane
(xlwings Lite, xlwings Server) or a message box (classic).

Every button keeps the cells it started from in the workbook's versions folder; Undo puts
back what leadbook's tabs (the output tabs and the Log) held before the last button or
command, and again one more write back. It leaves the input tabs as they are: what you
typed since is yours, and Excel's own Undo takes it back. Each ``@script`` takes, besides the
book, the workbook's formulas, which leadbook's task pane (xlwings Server) reads and sends
with a press (:func:`udfs.formula_cells.sent_formulas`; malformed ones are refused, and
nothing runs): with them Undo puts formulas back as formulas; without them (xlwings Lite, the
classic add-in) it puts back the numbers formula cells showed.

- xlwings Lite runs the ``@script`` functions from its pane; xlwings Server from the
  buttons of leadbook's task pane.
- The classic add-in's ``RunPython`` calls the no-argument ``*_caller`` functions, which
  work on the workbook whose button was pressed (see ``workbooks/classic/leadbook.bas``).

Files a job keeps beside the workbook — the versions, the lead model (Score leads), the
board pack (Export board pack) — go to the workbook's folder, or where the workbook's folder is
unknown (Office.js sends only its name) to a folder of the signed-in user and of the workbook's
identity under ``LEADBOOK_FILES`` (:func:`udfs.book.book_folder`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import xlwings as xw
from xlwings import script

from leadbook import contract as C
from leadbook.errors import InfeasiblePolicyError, LeadbookError
from leadbook.workbook.jobs import refresh as jobs
from leadbook.workbook.jobs.rebalance import rebalance as rebalance_job
from leadbook.workbook.undo import undo as undo_job
from udfs.book import run_job
from udfs.convert import excel_errors

__all__ = [
    "accept_plan",
    "accept_plan_caller",
    "check_inputs",
    "check_inputs_caller",
    "compare_scenarios",
    "compare_scenarios_caller",
    "export_board_pack",
    "export_board_pack_caller",
    "plan_hiring",
    "plan_hiring_caller",
    "rebalance",
    "rebalance_caller",
    "refresh",
    "refresh_caller",
    "refresh_forecast",
    "refresh_forecast_caller",
    "score_leads",
    "score_leads_caller",
    "score_leads_retrain",
    "score_leads_retrain_caller",
    "undo",
    "undo_caller",
]

Job = Callable[[Path], Any]
Sent = dict[str, Any] | None
"""The formulas leadbook's task pane reads and sends with a press (tab → formula → cells, see
:func:`udfs.formula_cells.sent_formulas`); None from xlwings Lite or an older task pane."""


def _check(path: Path) -> Any:
    return jobs.check(path, write=True)


def _rebalance(path: Path) -> Any:
    # leadbook rebalance BOOK: the GlideWeeks and Objective settings
    return rebalance_job(path)


def _compare(path: Path) -> Any:
    from leadbook.workbook.jobs.whatif import whatif

    return whatif(path)  # leadbook whatif BOOK


def _accept(path: Path) -> Any:
    from leadbook.workbook.jobs.decisions import accept

    return accept(path)  # leadbook accept BOOK


def _forecast(path: Path) -> Any:
    from leadbook.workbook.jobs import plan as planning

    return planning.forecast(path)  # leadbook forecast BOOK


def _plan(path: Path) -> Any:
    from leadbook.workbook.jobs import plan as planning

    return planning.plan(path)  # leadbook plan BOOK


def _lead_model(path: Path) -> Path:
    """The lead model's folder beside the workbook at ``path``: a job whose allocation the
    model may feed (LeadConversionSource = model) finds it beside its copy, as the command
    finds it beside the file."""
    from leadbook.leads.store import model_dir

    return model_dir(path)


def _score_leads(book: Any, formulas: Sent = None, *, retrain: bool = False) -> None:
    """leadbook score-leads BOOK [--retrain], the model folder kept beside the book."""
    from leadbook.leads.store import model_dir
    from leadbook.workbook.jobs import leads as leadjobs

    def job(path: Path) -> Any:
        return leadjobs.score_leads(path, retrain=retrain)

    run_job(book, job, companions=(model_dir,), formulas=formulas)


def _undo(book: Any, formulas: Sent = None) -> None:
    """leadbook undo BOOK on the copy: what leadbook's tabs held before the last write goes
    back to the live workbook; its input tabs stay as they are — but for an Accept plan,
    whose Current spend cells go back too, each one still holding the spend it wrote."""
    put_back: dict[str, tuple[float, Any]] = {}

    def job(path: Path) -> Any:
        from leadbook.workbook.jobs.decisions import accepted_spend, restored_spend

        written = accepted_spend(path)
        result = undo_job(path)
        if result.restored.before == "accept":
            put_back.update(restored_spend(path, written))
        return result

    run_job(book, job, tabs=C.OUTPUT_SHEETS, formulas=formulas)
    if put_back:
        sheet = book.sheets[C.SOURCES.name]
        for address, (wrote, old) in put_back.items():
            cell = sheet.range(address)
            if isinstance(cell.value, int | float) and abs(cell.value - wrote) < 0.005:
                cell.value = old  # typed over since: the user's, kept


def _export_board_pack(book: Any, formulas: Sent = None) -> None:
    """leadbook board BOOK: History's latest quarter, with a PDF as the BoardPDF setting says;
    the pack, made beside the job's copy, goes beside the workbook once the job has
    succeeded."""
    from leadbook.workbook.jobs import pack

    def made(path: Path) -> list[Path]:  # the job's own temporary folder: its pack alone
        pack_file = pack.pack_name(path, "*")
        return sorted([*path.parent.glob(pack_file), *path.parent.glob(pack_file[:-5] + ".pdf")])

    run_job(book, pack.export_board_pack, made=made, formulas=formulas)


@script
@excel_errors
def refresh(book: xw.Book, formulas: Sent = None) -> None:
    """Refresh: recompute every analysis tab — Tiers, Scores, ROI, Forecast, Hiring."""
    run_job(book, jobs.refresh, formulas=formulas)


@script
@excel_errors
def check_inputs(book: xw.Book, formulas: Sent = None) -> None:
    """Check inputs: list every input problem in the Problems table of the Start tab."""
    run_job(book, _check, formulas=formulas)


@script
@excel_errors
def rebalance(book: xw.Book, formulas: Sent = None) -> None:
    """Rebalance: next week's recommended spend per source under the policy (Allocation tab)."""
    _rebalance_on(book, formulas)


def _rebalance_on(book: Any, formulas: Sent = None) -> None:
    """Rebalance ``book``; a policy that cannot be met marks the Allocation tab stale (the
    job writes that) and its conflicts are shown in a message box, not as a failure."""
    try:
        run_job(book, _rebalance, companions=(_lead_model,), formulas=formulas, in_memory=True)
    except InfeasiblePolicyError as exc:
        book.app.alert(str(exc), title="leadbook: the policy cannot be met")


@script
@excel_errors
def compare_scenarios(book: xw.Book, formulas: Sent = None) -> None:
    """Compare scenarios: each scenario of the What-if tab against the Settings as set, and
    the budget curve (What-if tab)."""
    run_job(book, _compare, companions=(_lead_model,), formulas=formulas)


@script
@excel_errors
def accept_plan(book: xw.Book, formulas: Sent = None) -> None:
    """Accept plan: write the last Rebalance's recommended spend into Sources' Current spend
    and record the acceptance on the Decisions tab (refused when the Allocation tab is stale)."""
    run_job(book, _accept, formulas=formulas)


@script
@excel_errors
def refresh_forecast(book: xw.Book, formulas: Sent = None) -> None:
    """Refresh forecast: forecasts, scenarios, the log and accuracy (Forecast, Forecast detail)."""
    run_job(book, _forecast, formulas=formulas)


@script
@excel_errors
def plan_hiring(book: xw.Book, formulas: Sent = None) -> None:
    """Plan hiring: reps needed, productive reps and hires per scenario (Hiring tab)."""
    run_job(book, _plan, formulas=formulas)


@script
@excel_errors
def score_leads(book: xw.Book, formulas: Sent = None) -> None:
    """Score leads: probability, band, expected ROI, action and price of every open lead
    (Leads tab), with the lead model kept beside the workbook."""
    _score_leads(book, formulas)


@script
@excel_errors
def score_leads_retrain(book: xw.Book, formulas: Sent = None) -> None:
    """Score leads (retrain): train the lead model afresh on the closed leads, then score
    every open lead (Leads tab)."""
    _score_leads(book, formulas, retrain=True)


@script
@excel_errors
def export_board_pack(book: xw.Book, formulas: Sent = None) -> None:
    """Export board pack: the quarter's KPIs to Board and Maturity, the pack beside the book."""
    _export_board_pack(book, formulas)


@script
@excel_errors
def undo(book: xw.Book, formulas: Sent = None) -> None:
    """Undo: put back what leadbook's tabs showed before the last button or command; press
    it again to go back one more."""
    _undo(book, formulas)


def refresh_caller() -> None:
    """Refresh, for the classic add-in's ``RunPython`` (see workbooks/classic)."""
    _from_button(lambda book: run_job(book, jobs.refresh))


def check_inputs_caller() -> None:
    """Check inputs, for the classic add-in's ``RunPython``."""
    _from_button(lambda book: run_job(book, _check))


def rebalance_caller() -> None:
    """Rebalance, for the classic add-in's ``RunPython``."""
    _from_button(_rebalance_on)


def compare_scenarios_caller() -> None:
    """Compare scenarios, for the classic add-in's ``RunPython``."""
    _from_button(lambda book: run_job(book, _compare))


def accept_plan_caller() -> None:
    """Accept plan, for the classic add-in's ``RunPython``."""
    _from_button(lambda book: run_job(book, _accept))


def refresh_forecast_caller() -> None:
    """Refresh forecast, for the classic add-in's ``RunPython``."""
    _from_button(lambda book: run_job(book, _forecast))


def plan_hiring_caller() -> None:
    """Plan hiring, for the classic add-in's ``RunPython``."""
    _from_button(lambda book: run_job(book, _plan))


def score_leads_caller() -> None:
    """Score leads, for the classic add-in's ``RunPython``."""
    _from_button(_score_leads)


def score_leads_retrain_caller() -> None:
    """Score leads (retrain), for the classic add-in's ``RunPython``."""
    _from_button(lambda book: _score_leads(book, retrain=True))


def export_board_pack_caller() -> None:
    """Export board pack, for the classic add-in's ``RunPython``."""
    _from_button(_export_board_pack)


def undo_caller() -> None:
    """Undo, for the classic add-in's ``RunPython``."""
    _from_button(_undo)


def _from_button(press: Callable[[Any], Any]) -> None:
    book = xw.Book.caller()
    try:
        press(book)
    except LeadbookError as exc:
        book.app.alert(str(exc), title="leadbook")
