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
from leadbook.enums import Objective
from leadbook.errors import LeadbookError, Problem
from leadbook.inventory import portfolio_figures, stated_total_findings

app = typer.Typer(
    name="leadbook",
    help="Lead-portfolio analytics behind an Excel workbook: check, refresh, rebalance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

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
        table.add_column(
            name, justify="right" if name in ("#", "Score", "Spend", "Share") else "left"
        )
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
def rebalance(
    book: BookArg,
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, max=52, help="Plan a glide path of N weeks.")
    ] = 1,
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
    from leadbook.workbook.jobs import rebalance as rebalance_job

    def run() -> Any:
        return rebalance_job(book, weeks=weeks, objective=objective)

    if not as_json:
        result, allocation = _run(run)
        out.print(f"[green]✓[/] {result.changed} (previous version: {result.backup.name})\n")
        _print_allocation(allocation)
        return
    try:
        result, allocation = run()
    except InfeasiblePolicyError as exc:
        conflicts = [
            {"rule": c.rule, "message": c.message, "shortfall": c.shortfall} for c in exc.conflicts
        ]
        _json({"path": book, "ok": False, "summary": exc.summary, "conflicts": conflicts})
        raise typer.Exit(2) from None
    except LeadbookError as exc:
        _json({"path": book, "ok": False, "summary": str(exc), "conflicts": []})
        raise typer.Exit(2) from None
    _json(_allocation_json(result, allocation))


def _allocation_json(result: Any, allocation: Any) -> dict[str, Any]:
    table = allocation.table.reset_index()
    payload = {
        "path": result.path,
        "backup": result.backup,
        "ok": True,
        "status": allocation.status,
        "objective": allocation.objective,
        "objective_value": allocation.objective_value,
        "budget": allocation.budget,
        "budget_value": allocation.budget_value,
        "gap": allocation.gap,
        "totals": {
            "spend": allocation.totals.spend,
            "leads": allocation.totals.leads,
            "customers": allocation.totals.customers,
            "blended_cpa": allocation.totals.blended_cpa,
        },
        "sources": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
        "binding": list(allocation.binding),
        "explanation": allocation.explanation(),
    }
    if allocation.glide is not None:
        payload["glide"] = {str(week): row.to_dict() for week, row in allocation.glide.iterrows()}
    return payload


def _print_allocation(allocation: Any) -> None:
    table = Table(title="Recommended allocation (monthly run-rates)", title_justify="left")
    for name in (
        "Source",
        "Today",
        "Next week",
        "Change",
        "Leads",
        "Customers",
        "Marg. CPA",
        "Binds",
    ):
        table.add_column(name, justify="left" if name in ("Source", "Binds") else "right")
    for source, row in allocation.table.iterrows():
        cpa = row["marginal_cpa"]
        table.add_row(
            str(source),
            f"${row['current']:,.0f}",
            f"${row['recommended']:,.0f}",
            f"{row['change']:+,.0f}",
            f"{row['leads']:,.0f}",
            f"{row['customers']:,.1f}",
            f"${cpa:,.0f}" if math.isfinite(cpa) else "cap",
            row["binding"],
        )
    out.print(table)
    for line in allocation.explanation():
        out.print(f"• {line}", highlight=False)


def main() -> None:
    """Entry point of the ``leadbook`` command."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; the workbook was not changed")
        sys.exit(130)
