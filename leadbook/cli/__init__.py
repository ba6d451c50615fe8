"""The ``leadbook`` command line: the same jobs as the Excel buttons, on the .xlsx file.

Every command takes ``--json`` for machine-readable output. Exit codes: 0 success, 1 the
workbook has input errors (``check``), 2 leadbook refused the request (its message says why),
3 a bug in leadbook (an unexpected exception; its traceback is logged).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.markup import escape
from rich.table import Table

from leadbook import __version__
from leadbook.cli.show import (
    DEMO_EXPLANATION_LINES,
    allocation_json,
    board_json,
    err,
    finite,
    kept,
    month,
    out,
    print_allocation,
    print_board,
    print_json,
    print_portfolio,
    print_scores,
    print_sources,
    problem_json,
    records,
    score_json,
    version_json,
)
from leadbook.cli.startup import (
    FORECAST_FITS,
    CurrentStderr,
    owned_process,
    preload,
    silence_stdout,
)
from leadbook.enums import Objective
from leadbook.errors import LeadbookError

BUG_EXIT = 3


"""The exit code of an unexpected exception: a bug in leadbook, never the input's fault."""


log = logging.getLogger("leadbook.cli")


_CLICK_EXCEPTION = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")


_NOT_BUGS = (typer.Exit, typer.Abort, _CLICK_EXCEPTION, KeyboardInterrupt)


"""What a command raises on purpose (typer vendors click in new releases: found by name)."""


class _Commands(typer.core.TyperGroup):
    """leadbook's commands; an exception no command expected is reported as a bug."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _NOT_BUGS:
            raise
        except BrokenPipeError:
            # the reader of the output went away (``leadbook --help | head``): nothing to say
            silence_stdout()
            raise typer.Exit(0) from None
        except Exception:
            log.error("unexpected error", exc_info=True)
            err.print(
                "[bold red]leadbook:[/] an unexpected error stopped the command; this is a "
                "bug in leadbook, please report it with the traceback logged above",
                highlight=False,
            )
            raise typer.Exit(BUG_EXIT) from None


app = typer.Typer(
    cls=_Commands,
    name="leadbook",
    help="Lead-portfolio analytics behind an Excel workbook: check, refresh, rebalance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


BookArg = Annotated[Path, typer.Argument(help="The workbook (.xlsx).", show_default=False)]


def _run(action: Callable[[], Any], json_path: Path | None = None) -> Any:
    """Run a command body; a LeadbookError becomes a readable message and exit code 2, and
    with ``json_path`` (a --json run on that file) also ``{"path", "ok": false, "summary"}``
    on stdout, as rebalance --json prints."""
    try:
        return action()
    except LeadbookError as exc:
        if json_path is not None:
            print_json({"path": json_path, "ok": False, "summary": str(exc)})
        # The message is plain text: "[server]" in an install hint is not markup.
        err.print(f"[bold red]leadbook:[/] {escape(str(exc))}", highlight=False, markup=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _tab_progress(title: str, total: int, *, disable: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar over output tabs, on stderr; yields the per-tab callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} tabs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=disable, transient=True) as bar:
        task = bar.add_task(title, total=total)
        yield lambda tab: bar.update(task, advance=1, description=f"{title}: {tab} done")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what leadbook does.")
    ] = False,
    version: Annotated[
        bool,
        # eager: answered before click asks for the missing command
        typer.Option(
            "--version", help="Print the version.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, CurrentStderr) for h in root.handlers):
        handler = CurrentStderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="Where to write the template (.xlsx).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write the empty leadbook template workbook."""
    from leadbook.workbook.jobs.refresh import new as new_job

    written = _run(lambda: new_job(path, overwrite=force), path if as_json else None)
    if as_json:
        print_json({"path": written})
    else:
        out.print(
            f"Wrote the template to [bold]{written}[/]. Fill Settings, Sources and History, "
            f"then run: leadbook check {written}"
        )


@app.command()
def demo(
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write the demo workbook.")
    ] = Path("leadbook-demo.xlsx"),
    as_json: JsonOption = False,
) -> None:
    """Build the demo workbook (the seed's TechFlow portfolio) and print its summary."""
    from leadbook.portfolio.inventory import portfolio_figures, stated_total_findings
    from leadbook.workbook.jobs.feeds import book_allocation
    from leadbook.workbook.jobs.outputs import OUTPUT_RENDERERS
    from leadbook.workbook.jobs.refresh import demo as demo_job
    from leadbook.workbook.jobs.refresh import frame_summary

    to = out_path if as_json else None  # where a --json error names
    with _tab_progress("Building the demo", len(OUTPUT_RENDERERS), disable=as_json) as step:
        written, book = _run(lambda: demo_job(out_path, progress=step), to)
    scored = _run(lambda: _score_demo(written), to)
    allocation, _ = _run(lambda: book_allocation(book), to)
    summary = frame_summary(book)
    figures = portfolio_figures(book.inventory.sources)
    findings = stated_total_findings(figures, book.stated)
    if as_json:
        print_json(
            {
                "path": written,
                "portfolio": figures.__dict__,
                "sources": summary.reset_index(names="source").to_dict(orient="records"),
                "findings": [problem_json(p) for p in findings],
                "leads": scored.write.changed,
                "allocation": allocation.explanation(),
            }
        )
        return
    out.print(f"Wrote the demo workbook to [bold]{written}[/]; {escape(scored.write.changed)}.\n")
    print_portfolio(figures, findings)
    print_sources(summary)
    out.print(
        "\n[bold]Rebalance[/] (the Allocation tab; `leadbook rebalance BOOK` solves it again)"
    )
    print_allocation(allocation, lines=DEMO_EXPLANATION_LINES)
    if allocation.sales_capacity is not None:
        out.print(f"• Sales capacity: {escape(allocation.sales_capacity.text)}.", highlight=False)
    out.print("  … every binding rule and the value of each is on the Allocation tab.")


def _score_demo(path: Path) -> Any:
    """Train the demo's lead model and score its open leads (the Leads tab)."""
    from leadbook.workbook.jobs.leads import score_leads as score_job

    return score_job(path, retrain=True)


@app.command()
def check(
    book: BookArg,
    write: Annotated[
        bool, typer.Option("--write", help="Also list the problems on the Start tab.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List every input problem of a workbook (exit code 1 if there are errors)."""
    preload("leadbook.workbook.jobs.refresh")
    from leadbook.workbook.jobs.refresh import check as check_job

    result = _run(lambda: check_job(book, write=write), book if as_json else None)
    failing = result.problems if strict else result.errors
    if as_json:
        print_json(
            {
                "path": book,
                "ok": not failing,
                "problems": [problem_json(p) for p in result.problems],
            }
        )
    elif not result.problems:
        out.print(f"[green]✓[/] {book.name}: no input problems.")
    else:
        table = Table(
            title=f"{book.name}: {len(result.errors)} error(s), "
            f"{len(result.problems) - len(result.errors)} warning(s)",
            title_justify="left",
        )
        table.add_column("Where", no_wrap=True)
        table.add_column("Problem")
        table.add_column("Severity")
        for p in result.problems:
            colour = "red" if p.severity == "error" else "yellow"
            table.add_row(p.where, p.message, f"[{colour}]{p.severity}[/]")
        out.print(table)
    if failing:
        raise typer.Exit(1)


@app.command()
def refresh(book: BookArg, as_json: JsonOption = False) -> None:
    """Recompute Tiers, Scores, ROI, Forecast and Hiring in place (inputs are never touched)."""
    preload("leadbook.workbook.jobs.refresh", FORECAST_FITS)
    from leadbook.workbook.jobs.refresh import REFRESH_TABS, frame_summary
    from leadbook.workbook.jobs.refresh import refresh as refresh_job
    from leadbook.workbook.read import read_book

    to = book if as_json else None
    read = _run(lambda: read_book(book), to)  # once: the inputs the summary shows are unchanged
    with _tab_progress("Refreshing", len(REFRESH_TABS), disable=as_json) as step:
        result = _run(lambda: refresh_job(book, progress=step, book=read), to)
    summary = frame_summary(read)
    if as_json:
        print_json(
            {
                "path": result.path,
                "version": result.version,
                "changed": result.changed,
                "sources": summary.reset_index(names="source").to_dict(orient="records"),
            }
        )
        return
    out.print(f"[green]✓[/] {escape(result.changed)} ({kept(result)})")
    print_sources(summary)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes computing cell functions in parallel (default: CPUs, up to 4; "
            "0 computes in a thread)."
        ),
    ] = None,
    certs: Annotated[
        Path,
        typer.Option(
            help="Folder with a certificate and key (mkcert's localhost+2.pem and "
            "localhost+2-key.pem, or cert.pem and key.pem); found ones switch on HTTPS."
        ),
    ] = Path("certs"),
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="No sign-in (127.0.0.1 only). By default a token signs users in: "
            "LEADBOOK_TOKENS_FILE (one per user) or LEADBOOK_TOKEN, else one made and kept.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Serve leadbook's cell functions and buttons to Excel through xlwings Server.

    Needs pip install 'leadbook[server]' and a licence key in XLWINGS_LICENSE_KEY (a paid
    xlwings key for commercial use, or 'noncommercial'). See docs/excel.md.
    """
    from udfs import server

    plan = _run(
        lambda: server.plan(
            host,
            port,
            server.DEFAULT_WORKERS if workers is None else workers,
            certs,
            auth=not no_auth,
        )
    )
    if as_json:
        print_json(
            {
                "url": plan.url,
                "manifest": plan.manifest,
                "workers": plan.workers,
                "sign_in": plan.sign_in,
            }
        )
    else:
        out.print(
            f"leadbook for Excel at [bold]{plan.url}[/] ({plan.workers} compute process(es)); "
            f"add-in manifest: [bold]{plan.manifest}[/]"
        )
        if plan.token:
            out.print(
                f"sign-in token (each user pastes it once into Sign in on the task pane): "
                f"[bold]{escape(plan.token)}[/]"
            )
        elif not plan.sign_in:
            err.print("[yellow]![/] no sign-in (--no-auth): anyone on this machine can call it")
        if plan.certfile is None:
            err.print(
                f"[yellow]![/] no certificate in {certs}: serving HTTP, which Excel's add-ins "
                "(Office.js) refuse; see docs/excel.md for mkcert"
            )
    server.serve(plan)


@app.command()
def roi(book: BookArg, as_json: JsonOption = False) -> None:
    """Write the ROI tab: 30-day, 90-day and 12-month ROI, NPV, IRR and payback per source."""
    preload("leadbook.workbook.jobs.plan")
    from leadbook.workbook.jobs.plan import roi as roi_job

    done = _run(lambda: roi_job(book), book if as_json else None)
    table, _ = done.result
    if as_json:
        print_json(
            {
                "path": book,
                "changed": done.write.changed,
                "sources": records(table.reset_index(names="source")),
            }
        )
        return
    out.print(f"[green]✓[/] {escape(done.write.changed)}")
    grid = Table(
        title="ROI of an average monthly cohort, on contribution (GrossMargin, CostToServe)",
        title_justify="left",
    )
    for name in (
        "Source",
        "Spend",
        "ROI 30d",
        "ROI 90d",
        "ROI 12m",
        "CPA",
        "Payback",
        "NPV",
        "IRR/year",
    ):
        grid.add_column(name, justify="left" if name == "Source" else "right")
    for source, r in table.iterrows():
        irr = r["irr"] if isinstance(r["irr"], str) else f"{r['irr']:.0%}"
        irr = irr.replace("over 1,000% a year", ">1,000%").replace(" a month", "/mo")
        irr = "none (see tab)" if irr.startswith("no IRR") else irr
        grid.add_row(
            str(source),
            f"${r['spend']:,.0f}",
            f"{r['roi_30d']:.0%}",
            f"{r['roi_90d']:.0%}",
            f"{r['roi_12m']:.0%}",
            f"${r['cpa']:,.0f}",
            str(r["payback"]),
            f"${r['npv']:,.0f}",
            irr,
        )
    out.print(grid)


@app.command()
def forecast(book: BookArg, as_json: JsonOption = False) -> None:
    """Write the Forecast tabs: forecasts with intervals, scenarios, the log and accuracy."""
    preload("leadbook.workbook.jobs.plan", FORECAST_FITS)
    from leadbook.planning.forecast import by_quick_path
    from leadbook.workbook.jobs.plan import forecast as forecast_job

    done = _run(lambda: forecast_job(book), book if as_json else None)
    result = done.result
    scen = result.scenarios
    if as_json:
        print_json(
            {
                "path": book,
                "changed": done.write.changed,
                "series": records(result.forecast.series),
                "portfolio": records(result.forecast.portfolio),
                "scenarios": records(scen),
                "accuracy": records(result.accuracy),
            }
        )
        return
    out.print(f"[green]✓[/] {escape(done.write.changed)}")
    grid = Table(title="How each series was forecast", title_justify="left")
    for name in ("Source", "Measure", "Months", "Method", "MASE", "Naive MASE"):
        grid.add_column(name)
    series = result.forecast.series
    quick = by_quick_path(series)
    for r in series[~quick].itertuples():
        grid.add_row(
            r.source,
            r.measure,
            str(r.months),
            r.method,
            "" if math.isnan(r.mase) else f"{r.mase:.2f}",
            "" if math.isnan(r.floor_mase) else f"{r.floor_mase:.2f}",
        )
    out.print(grid)
    if quick.any():  # thousands of rows a terminal cannot show; the tab lists them
        out.print(
            f"… and {quick.sum():,} series of the smaller sources, by the quick methods "
            "(listed on the Forecast detail tab)"
        )
    for r in scen.itertuples():
        out.print(
            f"{r.scenario}: {r.leads:,.0f} leads in {r.month:%b %Y} (baseline "
            f"{r.baseline:,.0f}); chance the current course reaches it {r.probability:.1%}, stated "
            f"confidence {r.confidence:.0%}"
        )


@app.command()
def plan(book: BookArg, as_json: JsonOption = False) -> None:
    """Write the Hiring tab: reps needed, productive reps and hires per scenario."""
    preload("leadbook.workbook.jobs.plan", FORECAST_FITS)
    from leadbook.workbook.jobs.plan import plan as plan_job

    done = _run(lambda: plan_job(book), book if as_json else None)
    result = done.result
    if as_json:
        print_json(
            {
                "path": book,
                "changed": done.write.changed,
                "plan": records(result.plan),
                "quarters": records(result.quarters),
                "checks": records(result.checks),
            }
        )
        return
    out.print(f"[green]✓[/] {escape(done.write.changed)}")
    grid = Table(title="Capacity by scenario", title_justify="left")
    for name in (
        "Scenario",
        "Reps month 12",
        "Hires",
        "Peak leads",
        "Ops exceeded",
        "Support exceeded",
    ):
        grid.add_column(name)
    for r in result.checks.itertuples():
        grid.add_row(
            r.scenario,
            str(r.reps_month12),
            str(r.hires_total),
            f"{r.peak_leads:,.0f}",
            month(r.ops_exceeded),
            month(r.support_exceeded),
        )
    out.print(grid)


@app.command("score-leads")
def score_leads(
    book: BookArg,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train a new lead model before scoring.")
    ] = False,
    leads: Annotated[
        Path | None,
        typer.Option(
            "--leads",
            help="Score a lead table from a .csv or .parquet file (larger than a sheet); "
            "scores go to <file>.scored.<ext>.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score open leads: probability, band, expected ROI, action and price (Leads tab)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    # skops first: its trusted list looks each scipy ufunc up in every module loaded before
    # scipy's, and the job's are not yet
    preload("skops.io", "leadbook.workbook.jobs.leads")
    from leadbook.workbook.jobs.leads import score_leads as score_job

    if leads is None:
        result = _run(lambda: score_job(book, retrain=retrain), book if as_json else None)
    elif as_json:  # no progress bar: stdout is the JSON, and it needs the file's scores
        result = _run(lambda: score_job(book, retrain=retrain, leads_file=leads), book)
    else:
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(f"Scoring {leads.name}", total=None)
            result = _run(
                lambda: score_job(
                    book,
                    retrain=retrain,
                    leads_file=leads,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            )
    if as_json:
        print_json(finite(score_json(result)))
        return
    print_scores(result)


@app.command()
def board(
    book: BookArg,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter", help="The quarter, e.g. 2026Q4 (default: History's latest quarter)."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the pack (default: the workbook's folder)."),
    ] = None,
    pdf: Annotated[
        bool | None,
        typer.Option(
            "--pdf/--no-pdf",
            help="Also write a PDF (LibreOffice); default: the BoardPDF setting.",
        ),
    ] = None,
    paper: Annotated[str, typer.Option("--paper", help="Paper of the PDF: a4 or letter.")] = "a4",
    as_json: JsonOption = False,
) -> None:
    """Export the quarterly board pack (values-only .xlsx, optional PDF) and record the
    quarter's KPIs on the Board tab."""
    preload("leadbook.workbook.jobs.pack")
    from leadbook.workbook.jobs.pack import export_board_pack

    def run() -> Any:
        return export_board_pack(book, quarter, out_dir, pdf=pdf, paper=paper)

    if as_json:
        result = _run(run, book)
        print_json(board_json(result))
        return
    with err.status("Exporting the board pack…"):
        result = _run(run)
    print_board(result)


@app.command()
def undo(
    book: BookArg,
    list_versions: Annotated[
        bool, typer.Option("--list", help="List the kept versions; restore nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Restore the workbook as it was before leadbook's last write (byte for byte); again,
    and it goes back one more write."""
    from leadbook.workbook.undo import undo as undo_job

    if list_versions:
        _list_versions(book, as_json)
        return
    result = _run(lambda: undo_job(book), book if as_json else None)
    if as_json:
        print_json(
            {
                "path": result.path,
                "undid": result.restored.before,
                "restored": version_json(result.restored),
                "sha256": result.sha256,
                "kept": version_json(result.kept),
            }
        )
        return
    folder = result.restored.path.parent.name
    out.print(
        f"[green]✓[/] Restored {book.name} as it was before {result.restored.before} of "
        f"{result.restored.local_time:%Y-%m-%d %H:%M:%S} ({folder}/{result.restored.name}, "
        f"sha256 {result.sha256[:16]}…).",
        highlight=False,
    )
    out.print(
        f"The file it replaced is kept as {folder}/{result.kept.name}. Run leadbook undo again "
        "to go back one more write; the Log tab records the undo at the next write.",
        highlight=False,
    )


def _list_versions(book: Path, as_json: bool) -> None:
    from leadbook.workbook import versions as V

    found, records = V.kept_versions(book), V.undo_records(book)
    restored_by = {r.restored: r for r in records}
    folder = V.versions_dir(book).name
    if as_json:
        print_json(
            {
                "path": book,
                "folder": V.versions_dir(book),
                "versions": [version_json(v) | {"sha256": v.digest()} for v in found],
                "undos": [r.__dict__ | {"time": r.time} for r in records],
            }
        )
        return
    if not found:
        out.print(
            f"No version of {book.name} is kept yet: leadbook keeps one in {folder} before "
            "each write it makes.",
            highlight=False,
        )
        return
    table = Table(
        title=f"{len(found)} version(s) of {book.name} kept in {folder}, oldest first",
        title_justify="left",
    )
    for name in ("Kept at", "Before", "Size", "File", "Note"):
        table.add_column(
            name, justify="right" if name == "Size" else "left", no_wrap=name != "Note"
        )
    for v in found:
        notes = ["the cell values a button saw"] if v.is_values_copy() else []
        if v.name in restored_by:
            notes.append(
                f"restored by the undo of {V.local_time(restored_by[v.name].time):%H:%M:%S}"
            )
        table.add_row(
            f"{v.local_time:%Y-%m-%d %H:%M:%S}",
            v.before,
            f"{v.size / 1024:,.0f} KB",
            v.name,
            "; ".join(notes),
        )
    out.print(table)
    if records:
        out.print(f"{len(records)} undo(s) recorded in {folder}/{V.UNDO_LOG}.", highlight=False)


@app.command()
def rebalance(
    book: BookArg,
    weeks: Annotated[
        int | None,
        typer.Option(
            "--weeks",
            min=1,
            max=52,
            help="Plan a glide path of N weeks (default: the GlideWeeks setting).",
        ),
    ] = None,
    objective: Annotated[
        Objective | None,
        typer.Option(
            "--objective",
            case_sensitive=False,
            help="What to maximise (default: the Objective setting).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recommend next week's allocation under the policy and write the Allocation tab."""
    from leadbook.errors import InfeasiblePolicyError

    preload("leadbook.workbook.jobs.rebalance", "scipy.optimize")
    from leadbook.workbook.jobs.rebalance import rebalance as rebalance_job

    def run() -> Any:
        return rebalance_job(book, weeks=weeks, objective=objective)

    if not as_json:
        result, allocation = _run(run)
        out.print(f"[green]✓[/] {escape(result.changed)} ({kept(result)})\n")
        print_allocation(allocation)
        return
    try:
        result, allocation = run()
    except InfeasiblePolicyError as exc:
        conflicts = [
            {"rule": c.rule, "message": c.message, "shortfall": c.shortfall}
            | {"fix": c.fix.json() if c.fix else None, "fixes": [f.json() for f in c.fixes]}
            for c in exc.conflicts
        ]
        fixes = {"fixes": [f.json() for f in exc.fixes], "together": exc.together}
        print_json(
            {"path": book, "ok": False, "summary": exc.summary, "conflicts": conflicts} | fixes
        )
        raise typer.Exit(2) from None
    except LeadbookError as exc:
        print_json({"path": book, "ok": False, "summary": str(exc), "conflicts": []})
        raise typer.Exit(2) from None
    print_json(allocation_json(result, allocation))


@app.command()
def whatif(book: BookArg, as_json: JsonOption = False) -> None:
    """Compare the What-if tab's scenarios with the Settings as set, and draw the budget curve."""
    preload("leadbook.workbook.jobs.whatif", "scipy.optimize")
    from leadbook.workbook.jobs.whatif import whatif as whatif_job

    result, view = _run(lambda: whatif_job(book), book if as_json else None)
    curve = view.curve.table if view.curve is not None else None
    if as_json:
        print_json(
            {
                "path": book,
                "ok": True,
                "changed": result.changed,
                "scenarios": [
                    {
                        "name": r.name,
                        "overrides": r.scenario.text,
                        "status": r.status,
                        "rule": r.verdict or None,
                        "spend": finite(r.spend),
                        "leads": finite(r.leads),
                        "customers": finite(r.customers),
                        "blended_cpa": finite(r.blended_cpa),
                        "margin": finite(r.margin),
                        "binding": list(r.binding),
                    }
                    for r in view.results
                ],
                "curve": records(curve) if curve is not None else [],
            }
        )
        return
    out.print(f"[green]✓[/] {escape(result.changed)} ({kept(result)})\n")
    grid = Table(title="Scenarios (monthly)", title_justify="left")
    for name in ("Scenario", "Status", "Spend", "Customers", "Blended CPA", "Margin"):
        grid.add_column(name)
    for r in view.results:
        ok = r.status == "optimal"
        grid.add_row(
            escape(r.name),
            r.status if ok else f"infeasible: {escape(r.verdict)}",
            f"${r.spend:,.0f}" if ok else "",
            f"{r.customers:,.1f}" if ok else "",
            f"${r.blended_cpa:,.0f}" if ok else "",
            f"${r.margin:,.0f}" if ok else "",
        )
    out.print(grid)
    if curve is not None:
        feasible = curve[curve["status"] == "optimal"]
        out.print(
            f"Budget curve: {len(curve)} budgets, {len(feasible)} feasible; "
            "the What-if tab has every point and its chart.",
            highlight=False,
        )


@app.command()
def accept(book: BookArg, as_json: JsonOption = False) -> None:
    """Accept the last Rebalance's plan: write its recommended spend into Sources' Current
    spend and record it on the Decisions tab (leadbook undo takes it back)."""
    preload("leadbook.workbook.jobs.decisions")
    from leadbook.workbook.jobs.decisions import accept as accept_job

    result, acceptance = _run(lambda: accept_job(book), book if as_json else None)
    if as_json:
        spend = acceptance.spend.reset_index(names="source")
        print_json(
            {
                "path": book,
                "recommendation": acceptance.rec_id,
                "changed": result.changed,
                "version": result.version,
                "spend": spend.to_dict(orient="records"),
            }
        )
        return
    out.print(f"[green]✓[/] {escape(result.changed)} ({kept(result)})", highlight=False)


def main() -> None:
    """Entry point of the ``leadbook`` command."""
    try:
        with owned_process():
            app()
    except KeyboardInterrupt:
        err.print("interrupted; the workbook was not changed")
        sys.exit(130)
