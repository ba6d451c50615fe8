"""The board pack's closing sheets: strategic maturity with the roadmap to the next stage, and
the glossary."""

from __future__ import annotations

from leadbook.board import maturity as M
from leadbook.workbook.pack.page import GREY, HEADING, Page


def _maturity_page(page: Page, a: M.Assessment) -> None:
    page.text(f"Stage reached: {a.reached.number} — {a.reached.name}", HEADING)
    page.table(
        ("Stage", "Score", "What it looks like", "Share of checklist", "Reached"),
        [
            (
                f"{s.stage.number} · {s.stage.name}",
                f"{s.points:g} of {s.out_of}" if s.out_of else "starting point",
                s.stage.summary,
                s.share if s.share is not None else "—",
                "yes" if s.reached else "no",
            )
            for s in a.stages
        ],
        ("", "", "", "0%", ""),
        wrap=(0, 2),
    )
    nxt = a.next_stage
    if nxt is None:
        page.para("Every stage is reached: Phase 4, Continuous Evolution, keeps it so.")
        page.finish()
        return
    page.text(f"Roadmap to Stage {nxt.number}, {nxt.name}", HEADING)
    page.table(
        ("Phase", "When", "Gap", "Counted now", "The phase builds"),
        [
            (
                f"{s.phase.number} · {s.phase.name}",
                s.phase.months,
                s.item.text,
                f"{s.counted.answer.value} ({s.counted.origin})"
                if s.counted.answer
                else "unanswered",
                s.item.builds,
            )
            for s in a.roadmap
        ],
        wrap=(2, 3, 4),
    )
    page.para(
        f"A stage is reached at {a.threshold:.0%} of its checklist (yes 1, partly ½) with every "
        "earlier stage reached. Answers come from the Maturity tab; where none is given, from "
        "what the workbook shows (forecasts, vendor scorecards, hiring plan, board history).",
        GREY,
    )
    page.finish()


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("CPL (cost per lead)", "What a source charges, or costs us, for one lead."),
    (
        "Blended CPL",
        "The portfolio's cost per lead: total spend divided by total leads, so each source "
        "counts by its volume.",
    ),
    (
        "CPA (cost per customer)",
        "Spend divided by the customers it brought: the cost of one new customer.",
    ),
    ("Conversion", "The share of leads that become customers."),
    (
        "Run-rate",
        "A figure a month at today's (or the recommended) spend, as if the month ran at that "
        "pace; not a month's recorded actual.",
    ),
    ("Last quarter actual", "What History records for the quarter's months, summed."),
    (
        "Cohort",
        "The leads bought in one month and the customers and revenue they bring later; the "
        "ROI page averages a source's monthly cohorts.",
    ),
    (
        "Contribution",
        "What the business keeps of the revenue: revenue × the gross margin on Settings, less "
        "the cost to serve each customer won.",
    ),
    (
        "ROI",
        "Return on spend, on contribution: what the leads' customers contribute, less what the "
        "leads cost, as a share of what they cost, over the stated horizon (30 days, 90 days, "
        "12 months, or the quarter). Revenue ROI, where shown, is the same on revenue.",
    ),
    (
        "NPV, IRR, payback",
        "A cohort's contribution cash flows valued today at the discount rate on Settings "
        "(NPV), the yearly rate at which they break even (IRR; over 1,000 % it is given a "
        "month) and the first month they have paid back (payback).",
    ),
    (
        "Tier 1 / 2 / 3",
        "Core sources that carry the volume, growth sources, and experimental sources being "
        "tested; each has a budget band.",
    ),
    (
        "Lead type",
        "Premium: sold to one or two buyers within a day; Standard: to three to five within "
        "three days; Value: aged or widely shared.",
    ),
    (
        "Risk class",
        "Low, Medium or High, from a source's history, test status, vendor health and "
        "volatility; High-risk spend is held to its band.",
    ),
    ("Band", "The range of budget share a class of sources is held to, e.g. 10% – 15%."),
    ("Vendor health", "The vendor's score from 1 (poor) to 5 (excellent) on the Sources tab."),
    (
        "Rebalance",
        "The recommended allocation: the spend per source that brings the most expected "
        "customers within the budget and every rule on Settings.",
    ),
    ("Marginal CPA", "What one more customer from a source would cost at its next spend tier."),
    (
        "Baseline",
        "The lead forecast on the current course: past seasonality and trend, with no growth "
        "action.",
    ),
    (
        "Usual variation (sd)",
        "How far the baseline's month 12 usually lands from its forecast (one standard deviation).",
    ),
    (
        "Chance the current plan reaches it",
        "The chance that the baseline alone reaches a scenario's leads in month 12.",
    ),
    (
        "Forecast error",
        "How far the leads forecast at the start of a period missed the actual, as a share "
        "of the actual.",
    ),
    (
        "Capacity utilisation",
        "Leads a month against what the sales team can work; about 85 % is the optimum.",
    ),
    (
        "On target / watch / off target",
        "Meets the target; misses it by at most the watch margin (10 % of the target by "
        "default); misses by more.",
    ),
    ("First-party / third-party", "Leads from our own channels / bought from vendors."),
)
"""The glossary page: a term a board member may not know, and its one-line definition."""


def _glossary_page(page: Page) -> None:
    top, _ = page.table(("Term", "What it means"), GLOSSARY, wrap=(0, 1))
    page.ws.print_title_rows = f"1:{top}"
    page.finish()
