"""The ``leadbook`` command line: the same jobs as the Excel buttons, on the .xlsx file.

Every command takes ``--json`` for machine-readable output. Exit codes: 0 success, 1 the
workbook has input errors (``check``), 2 leadbook refused the request (its message says why).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadbook import __version__
from leadbook.errors import LeadbookError, Problem
from leadbook.inventory import portfolio_figures, stated_total_findings

app = typer.Typer(
    name="leadbook",
    help="Lead-portfolio analytics behind an Excel workbook: check, refresh, rebalance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
PIPE_WIDTH = 120
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:
        _console.width = PIPE_WIDTH  # files and pipes get whole tables, not 80 columns

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BookArg = Annotated[Path, typer.Argument(help="The workbook (.xlsx).", show_default=False)]


def _run(action: Callable[[], Any]) -> Any:
    """Run a command body; a LeadbookError becomes a readable message and exit code 2."""
    try:
        return action()
    except LeadbookError as exc:
        err.print(f"[bold red]leadbook:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None


def _json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=_jsonable, allow_nan=False))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "value"):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _problem_json(p: Problem) -> dict[str, str]:
    return {"where": p.where, "message": p.message, "severity": str(p.severity)}


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what leadbook does.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if version:
        typer.echo(__version__)
        raise typer.Exit()


@app.command()
def new(
    path: Annotated[Path, typer.Argument(help="Where to write the template (.xlsx).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write the empty leadbook template workbook."""
    from leadbook.workbook.jobs import new as new_job

    written = _run(lambda: new_job(path, overwrite=force))
    if as_json:
        _json({"path": written})
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
    from leadbook.workbook.jobs import demo as demo_job
    from leadbook.workbook.jobs import frame_summary

    written, book = _run(lambda: demo_job(out_path))
    summary = frame_summary(book)
    figures = portfolio_figures(book.inventory.sources)
    findings = stated_total_findings(figures, book.stated)
    if as_json:
        _json(
            {
                "path": written,
                "portfolio": figures.__dict__,
                "sources": summary.reset_index(names="source").to_dict(orient="records"),
                "findings": [_problem_json(p) for p in findings],
            }
        )
        return
    out.print(f"Wrote the demo workbook to [bold]{written}[/].\n")
    _print_portfolio(figures, findings)
    _print_sources(summary)


def _print_portfolio(figures: Any, findings: list[Problem]) -> None:
    out.print(
        f"Portfolio today: {figures.leads:,.0f} leads/month, ${figures.spend:,.0f} spend, "
        f"blended CPL ${figures.blended_cpl:,.2f}, conversion "
        f"{figures.blended_conversion:.2%}, CPA ${figures.blended_cpa:,.2f}, first-party "
        f"{figures.first_party_share:.0%} of leads."
    )
    for p in findings:
        out.print(f"[yellow]![/] {p}", highlight=False)
    out.print()


def _print_sources(summary: Any) -> None:
    table = Table(title="Sources by composite score", title_justify="left")
    for name in ("#", "Source", "Tier", "Lead type", "Risk", "Score", "Spend", "Share"):
        right = name in ("#", "Score", "Spend", "Share")
        table.add_column(name, justify="right" if right else "left", no_wrap=name == "Source")
    for source, row in summary.iterrows():
        table.add_row(
            str(row["rank"]),
            str(source),
            row["tier"].value,
            row["lead_type"].value,
            row["risk"].value,
            f"{row['score']:.1f}",
            f"${row['spend']:,.0f}",
            f"{row['share']:.1%}",
        )
    out.print(table)


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
    from leadbook.workbook.jobs import check as check_job

    result = _run(lambda: check_job(book, write=write))
    failing = result.problems if strict else result.errors
    if as_json:
        _json(
            {
                "path": book,
                "ok": not failing,
                "problems": [_problem_json(p) for p in result.problems],
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
    """Recompute the Tiers and Scores tabs in place (inputs are never touched)."""
    from leadbook.workbook.jobs import frame_summary
    from leadbook.workbook.jobs import refresh as refresh_job
    from leadbook.workbook.read import read_book

    result = _run(lambda: refresh_job(book))
    summary = frame_summary(_run(lambda: read_book(book)))
    if as_json:
        _json(
            {
                "path": result.path,
                "backup": result.backup,
                "changed": result.changed,
                "sources": summary.reset_index(names="source").to_dict(orient="records"),
            }
        )
        return
    out.print(f"[green]✓[/] {result.changed} (previous version: {result.backup.name})")
    _print_sources(summary)


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
    as_json: JsonOption = False,
) -> None:
    """Serve leadbook's cell functions and buttons to Excel through xlwings Server.

    Needs pip install 'leadbook[server]' and a licence key in XLWINGS_LICENSE_KEY (a paid
    xlwings key for commercial use, or 'noncommercial'). See docs/excel.md.
    """
    from udfs import server

    plan = _run(
        lambda: server.plan(
            host, port, server.DEFAULT_WORKERS if workers is None else workers, certs
        )
    )
    if as_json:
        _json({"url": plan.url, "manifest": plan.manifest, "workers": plan.workers})
    else:
        out.print(
            f"leadbook for Excel at [bold]{plan.url}[/] ({plan.workers} compute process(es)); "
            f"add-in manifest: [bold]{plan.manifest}[/]"
        )
        if plan.certfile is None:
            err.print(
                f"[yellow]![/] no certificate in {certs}: serving HTTP, which Excel's add-ins "
                "(Office.js) refuse; see docs/excel.md for mkcert"
            )
    server.serve(plan)


def main() -> None:
    """Entry point of the ``leadbook`` command."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; the workbook was not changed")
        sys.exit(130)
