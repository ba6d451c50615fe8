"""The source inventory: validated sources, price tiers and history, and portfolio figures.

:func:`build_inventory` turns the raw Sources, PriceTiers and History tables into an
:class:`Inventory` or raises one :class:`~leadbook.errors.InputError` listing every
problem, each named in Excel terms. :func:`portfolio_figures` derives the blended figures
and :func:`stated_total_findings` flags stated totals that do not follow from the rows.
"""

from __future__ import annotations

import difflib
import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadbook.contract import (
    HISTORY_TABLE,
    NAMED_CELLS,
    PRICE_TIERS_TABLE,
    SOURCES_TABLE,
)
from leadbook.contract.tables import Locator, RowLocator, parse_table
from leadbook.enums import Party, Status
from leadbook.errors import Problem, Severity, raise_errors

SPEND_TOLERANCE = 0.02


@dataclass(frozen=True)
class Inventory:
    """Validated inputs: ``sources`` (indexed by name), ``price_tiers`` and ``history``.

    ``sources`` has the Sources table's input columns under their contract keys, with
    enums for choices and floats for numbers; optional blanks are NaN (numbers) or None.
    ``price_tiers`` has ``source, up_to, cpl`` sorted by source and ``up_to``; ``history``
    has ``month, source, spend, leads, customers, revenue`` sorted by source and month.
    """

    sources: pd.DataFrame
    price_tiers: pd.DataFrame
    history: pd.DataFrame

    @property
    def names(self) -> list[str]:
        return list(self.sources.index)

    def tiers(self, source: str) -> list[tuple[float, float]]:
        """The ``(leads, cpl)`` blocks a source's volume is bought in, up to its volume cap.

        Without price tiers a source has one block: its volume cap at its CPL. With tiers,
        blocks past the cap are cut at the cap and the last tier's price runs to the cap.
        """
        cap, own_cpl = self._cap_and_cpl[source]
        rows = self._tiers_by_source.get(source)
        if rows is None:
            return [(cap, own_cpl)] if cap > 0 else []
        blocks, start = [], 0.0
        for up_to, cpl in rows:
            end = min(float(up_to), cap)
            if end > start:
                blocks.append((end - start, float(cpl)))
            start = max(start, end)
        if start < cap:
            blocks.append((cap - start, float(rows[-1][1])))
        return blocks

    @functools.cached_property
    def _cap_and_cpl(self) -> dict[str, tuple[float, float]]:
        """Each source's volume cap and CPL, looked up once (a row lookup a source cost a
        second at 10,000 sources)."""
        src = self.sources
        caps, cpls = src["volume_cap"].astype(float), src["cpl"].astype(float)
        return dict(zip(src.index, zip(caps.tolist(), cpls.tolist(), strict=True), strict=True))

    @functools.cached_property
    def _tiers_by_source(self) -> dict[str, list[tuple[float, float]]]:
        """Each source's ``(up_to, cpl)`` rows, grouped once (a filter per source was
        quadratic in sources)."""
        tiers = self.price_tiers
        grouped: dict[str, list[tuple[float, float]]] = {}
        for source, up_to, cpl in zip(tiers["source"], tiers["up_to"], tiers["cpl"], strict=True):
            grouped.setdefault(source, []).append((up_to, cpl))
        return grouped


def build_inventory(
    sources: pd.DataFrame,
    price_tiers: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    *,
    locators: dict[str, Locator] | None = None,
) -> tuple[Inventory, list[Problem]]:
    """Validate raw tables (columns keyed as in the contract) into an :class:`Inventory`.

    Raises :class:`~leadbook.errors.InputError` listing every error; returns the inventory
    and the warnings otherwise. ``locators`` maps a table name to where its cells sit.

    Examples
    --------
    >>> from leadbook.demo import demo_tables
    >>> raw = demo_tables().sources.head(2).copy()
    >>> raw.loc[1, "cpl"] = -3
    >>> build_inventory(raw)
    Traceback (most recent call last):
    ...
    leadbook.errors.InputError: Sources row 2, CPL: CPL must be > 0, got -3
    """
    locators = locators or {}
    loc = {
        t.name: locators.get(t.name) or RowLocator(t)
        for t in (SOURCES_TABLE, PRICE_TIERS_TABLE, HISTORY_TABLE)
    }
    src, problems = parse_table(sources, SOURCES_TABLE, loc["Sources"], text_numbers=True)
    problems += _check_sources(src, loc["Sources"])
    names = [n for n in src["source"] if isinstance(n, str) and n]
    raw_tiers = _frame(price_tiers, PRICE_TIERS_TABLE)
    tiers, tier_problems = parse_table(
        raw_tiers, PRICE_TIERS_TABLE, loc["PriceTiers"], text_numbers=True
    )
    hist, hist_problems = parse_table(
        _frame(history, HISTORY_TABLE), HISTORY_TABLE, loc["History"], text_numbers=True
    )
    problems += tier_problems + hist_problems
    problems += _check_known(tiers, names, "PriceTiers", loc["PriceTiers"])
    problems += _check_known(hist, names, "History", loc["History"])
    problems += _check_tiers(tiers, src, loc["PriceTiers"])
    problems += _check_history(hist, loc["History"])
    raise_errors(problems)
    by_source = src.set_index("source", drop=False)
    used = cpl_in_use(by_source, tiers) if not tiers.empty else by_source["cpl"]
    problems += _tier_cpl_differs(src, tiers, used, loc["Sources"])
    problems += _spend_differs(src, tiers, used, loc["Sources"])
    raw = {
        "Sources": sources,
        "PriceTiers": _frame(price_tiers, PRICE_TIERS_TABLE),
        "History": _frame(history, HISTORY_TABLE),
    }
    problems += _spaced_names(raw, loc)
    problems += _history_claims(src, hist, loc["Sources"])
    inventory = Inventory(
        sources=src.drop(columns="at_row").set_index("source", drop=False).rename_axis(None),
        price_tiers=tiers.drop(columns="at_row")
        .sort_values(["source", "up_to"], kind="stable")
        .reset_index(drop=True),
        history=hist.drop(columns="at_row")
        .sort_values(["source", "month"], kind="stable")
        .reset_index(drop=True),
    )
    return inventory, problems


def _frame(frame: pd.DataFrame | None, spec: Any) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame(columns=spec.keys)


def _check_sources(src: pd.DataFrame, loc: Locator) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for row in src.itertuples(index=False):
        r = int(row.at_row)

        def at(key: str, message: str, severity: Severity = Severity.ERROR, r: int = r) -> None:
            problems.append(Problem(loc.cell(r, key), message, severity))

        if isinstance(row.source, str) and row.source:
            if row.source.casefold() in seen:
                at(
                    "source",
                    f"source {row.source!r} appears twice (first at "
                    f"{loc.cell(seen[row.source.casefold()], 'source')}); names must be unique",
                )
            seen.setdefault(row.source.casefold(), r)
        _row_rules(row, at)
    return problems


def _row_rules(row: Any, at: Any) -> None:
    """Cross-column rules of one Sources row; reports through ``at(key, message, severity)``."""
    known = lambda v: v is not None and not (isinstance(v, float) and np.isnan(v))  # noqa: E731
    if row.status == Status.TESTING and not known(row.test_phase):
        at("test_phase", "a testing source needs its test phase (1 or 2)")
    if known(row.test_phase) and row.status != Status.TESTING and row.status is not None:
        at(
            "test_phase",
            f"test phase is set but status is {row.status}; it is ignored",
            Severity.WARNING,
        )
    if known(row.pin) and known(row.cap) and row.pin > row.cap:
        at("pin", f"pinned spend ${row.pin:,.0f} is above the spend cap ${row.cap:,.0f}")
    if known(row.pin) and row.exclude:
        at("exclude", "a source cannot be both pinned and excluded")
    if known(row.leads) and known(row.volume_cap) and row.volume_cap < row.leads:
        at(
            "volume_cap",
            f"volume cap {row.volume_cap:,.0f} is below today's monthly leads "
            f"{row.leads:,.0f}; the allocation will have to buy less",
            Severity.WARNING,
        )
    if row.status == Status.PAUSED and (known(row.pin) or known(row.cap)):
        at(
            "pin" if known(row.pin) else "cap",
            f"{'pinned spend' if known(row.pin) else 'spend cap'} is set but the source is "
            "paused, so it gets no budget and this is ignored; set its Status to active or "
            "testing to allocate it",
            Severity.WARNING,
        )
    if row.status == Status.PAUSED and known(row.spend) and row.spend > 0:
        at(
            "spend",
            "a paused source has current spend; it counts as today's allocation",
            Severity.WARNING,
        )
    return []


def _history_claims(src: pd.DataFrame, hist: pd.DataFrame, loc: Locator) -> list[Problem]:
    """A warning where a source claims more months of history than History holds for it
    (within the months History covers): its tier and risk take the claim on trust."""
    span = hist["month"].nunique() if len(hist) else 0
    counts = hist.groupby("source")["month"].nunique() if len(hist) else pd.Series(dtype=int)
    held = dict(zip(counts.index, counts.tolist(), strict=True))  # (a lookup a source)
    problems = []
    for row in src.itertuples(index=False):
        claimed = int(row.history_months or 0)
        rows = int(held.get(row.source, 0))
        if claimed <= 0 or rows >= (min(claimed, span) if span else claimed):
            continue
        what = (
            "History has no rows for it"
            if rows == 0
            else f"History holds {rows} of the {span} months it covers for it"
        )
        problems.append(
            Problem(
                loc.cell(int(row.at_row), "history_months"),
                f"{row.source!r} claims {claimed} months of history but {what}; its tier and "
                "risk class take the claim on trust, its forecast and ROI cannot — add its "
                "months to History, or correct Months of history",
                Severity.WARNING,
            )
        )
    return problems


def _spend_differs(
    src: pd.DataFrame, tiers: pd.DataFrame, used: pd.Series, loc: Locator
) -> list[Problem]:
    """A warning where today's spend is not monthly leads × the CPL Rebalance uses (``used``:
    the CPL, or the price tiers' average where the source has tiers)."""
    spend, leads = src["spend"].to_numpy(float), src["leads"].to_numpy(float)
    cpl = used.reindex(src["source"]).to_numpy(float)
    implied = leads * cpl
    with np.errstate(invalid="ignore"):  # a blank spend, leads or CPL is no finding
        off = (spend > 0) & (np.abs(implied - spend) > SPEND_TOLERANCE * spend)
    tiered = set(tiers["source"]) if not tiers.empty else set()
    problems = []
    for i in np.flatnonzero(off):  # the few that differ, in the table's order
        source, row = src["source"].iat[i], int(src["at_row"].iat[i])
        cpl_name = "CPL used (its price tiers)" if source in tiered else "CPL"
        problems.append(
            Problem(
                loc.cell(row, "spend"),
                f"current spend ${spend[i]:,.0f} differs from monthly leads × {cpl_name} = "
                f"${implied[i]:,.0f}",
                Severity.WARNING,
            )
        )
    return problems


def _spaced_names(raw: dict[str, pd.DataFrame], loc: dict[str, Locator]) -> list[Problem]:
    """A warning at each source name typed with spaces around it: leadbook ignores them,
    Excel's formulas (CPL used, the shares) match names exactly and would not."""
    problems = []
    for table, frame in raw.items():
        if "source" not in frame:
            continue
        names = frame["source"]
        spaced = {
            n for n in pd.unique(names) if isinstance(n, str) and n.strip() and n != n.strip()
        }
        if not spaced:
            continue  # the usual case: each distinct name looked at once
        for row, name in zip(frame.index, names, strict=True):
            if name in spaced:
                problems.append(
                    Problem(
                        loc[table].cell(int(row), "source"),
                        f"{table}: source name {name!r} has spaces around it; leadbook reads "
                        f"{name.strip()!r} but Excel's formulas match names exactly — remove "
                        "the spaces",
                        Severity.WARNING,
                    )
                )
    return problems


def _tier_cpl_differs(
    src: pd.DataFrame, tiers: pd.DataFrame, used: pd.Series, loc: Locator
) -> list[Problem]:
    """A warning at each CPL that price tiers override with a different price (``used``)."""
    if tiers.empty:
        return []
    in_use = used.reindex(src["source"]).to_numpy(float)
    with np.errstate(invalid="ignore"):
        off = among(src["source"], tiers["source"]) & ~(
            np.abs(in_use - src["cpl"].to_numpy(float)) <= 0.005
        )
    problems = []
    for i in np.flatnonzero(off):  # the few that differ, in the table's order
        row = src.iloc[i]
        problems.append(
            Problem(
                loc.cell(int(row["at_row"]), "cpl"),
                f"CPL ${row['cpl']:,.2f} of {row['source']!r} is not what Rebalance uses: its "
                f"price tiers make today's {row['leads']:,.0f} leads cost ${in_use[i]:,.2f} "
                "each (CPL used); edit the tiers, or delete them to use the CPL",
                Severity.WARNING,
            )
        )
    return problems


def among(column: pd.Series, values: Any) -> np.ndarray:
    """Which cells of ``column`` hold one of ``values``, as ``column.isin(values)`` tells (a
    missing value matches a missing one) — by a set, where pandas' text columns made a
    pyarrow scalar of each of 10,000 names, several times a read.

    Examples
    --------
    >>> among(pd.Series(["a", None, "c"]), ["c", "b"]).tolist()
    [False, False, True]
    """
    values = list(values)
    wanted = {v for v in values if not pd.isna(v)}
    found = np.fromiter((v in wanted for v in column.to_numpy(object)), bool, len(column))
    if len(wanted) < len(values) and any(pd.isna(v) for v in values):
        found |= column.isna().to_numpy()
    return found


def _check_known(frame: pd.DataFrame, names: list[str], table: str, loc: Locator) -> list[Problem]:
    problems = []
    known = set(names)
    unknown = ~among(frame["source"], known)  # the usual case: none
    for row, source in zip(frame["at_row"][unknown], frame["source"][unknown], strict=True):
        if isinstance(source, str) and source:
            near = difflib.get_close_matches(source, names, n=1, cutoff=0.6)
            hint = f' — did you mean "{near[0]}"?' if near else ""
            problems.append(
                Problem(
                    loc.cell(int(row), "source"),
                    f'{table}: source "{source}" is not in Sources{hint}',
                )
            )
    return problems


def _check_tiers(tiers: pd.DataFrame, src: pd.DataFrame, loc: Locator) -> list[Problem]:
    """Each source's tiers rise in volume and do not fall in price, and the last ends at its
    volume cap: one pass over the rows, each source's problems kept together in the order
    its first tier comes (a source's tiers need not be adjacent)."""
    caps = dict(zip(src["source"], src["volume_cap"], strict=True))
    found: dict[Any, list[Problem]] = {}
    state: dict[Any, tuple[float, float, int]] = {}  # source: last up to, last CPL, last row
    rows = zip(
        tiers["at_row"].tolist(),
        tiers["source"].tolist(),
        tiers["up_to"].tolist(),
        tiers["cpl"].tolist(),
        strict=True,
    )
    for r, source, up_to, cpl in rows:
        if source is None or pd.isna(source):
            continue  # no source: reported where it is read
        problems = found.setdefault(source, [])
        prev_up, prev_cpl, _ = state.get(source, (0.0, 0.0, 0))
        r = int(r)
        if up_to is not None and up_to <= prev_up:
            problems.append(
                Problem(
                    loc.cell(r, "up_to"),
                    f"tiers of {source!r} must rise: {up_to:,.0f} follows {prev_up:,.0f}",
                )
            )
        if cpl is not None and cpl < prev_cpl:
            problems.append(
                Problem(
                    loc.cell(r, "cpl"),
                    f"tier CPL of {source!r} must not "
                    f"fall with volume: ${cpl:,.2f} after ${prev_cpl:,.2f} "
                    "(volume discounts are not modelled)",
                )
            )
        state[source] = (up_to or prev_up, cpl or prev_cpl, r)
    for source, (last_up, _, r) in state.items():
        cap = caps.get(source)
        if cap is not None and not np.isnan(cap) and last_up != cap:
            what = "runs past" if last_up > cap else "ends below"
            found[source].append(
                Problem(
                    loc.cell(r, "up_to"),
                    f"the last tier of {source!r} {what} "
                    f"its volume cap {cap:,.0f} (ends at {last_up:,.0f}); leadbook "
                    "buys up to the cap at the last tier's price",
                    Severity.WARNING,
                )
            )
    return [problem for problems in found.values() for problem in problems]


def _check_history(hist: pd.DataFrame, loc: Locator) -> list[Problem]:
    problems = []
    keyed = hist["month"].notna() & hist["source"].map(bool, na_action="ignore").fillna(False)
    pairs = hist.loc[keyed.astype(bool), ["month", "source", "at_row"]]
    first = pairs.groupby(["month", "source"], sort=False)["at_row"].transform("first")
    suspects = _history_suspects(hist, keyed.astype(bool))
    first = first[first.index.isin(hist.index[suspects])]  # the rows looked at, alone
    seen = dict(zip(first.index, first.astype(int), strict=True))
    for row in hist[suspects].itertuples(index=True):
        r = int(row.at_row)
        other = seen.get(row.Index, r)
        if other != r:
            problems.append(
                Problem(
                    loc.cell(r, "month"),
                    f"{row.source} has two rows for "
                    f"{row.month:%b %Y} (the other is {loc.cell(other, 'month')})",
                )
            )
        problems += _timing_problems(row, r, loc)
        if (
            row.customers is not None
            and row.leads is not None
            and not np.isnan(row.customers)
            and row.customers > row.leads
        ):
            problems.append(
                Problem(
                    loc.cell(r, "customers"),
                    f"customers ({row.customers:,.0f}) exceed leads ({row.leads:,.0f})",
                )
            )
    return problems


def _history_suspects(hist: pd.DataFrame, keyed: pd.Series) -> np.ndarray:
    """The History rows that may hold a problem :func:`_check_history` reports: a repeated
    source and month, or counts out of order (each row is then checked in full). Checking
    all 200,000 rows of a large book one by one took seconds."""
    repeated = keyed & hist.duplicated(["month", "source"], keep=False)
    counts = [
        pd.to_numeric(hist[c], errors="coerce").to_numpy(dtype=float)
        for c in ("customers_30d", "customers_90d", "customers", "leads")
        if c in hist
    ]
    out = repeated.to_numpy(dtype=bool).copy()
    with np.errstate(invalid="ignore"):
        for i, a in enumerate(counts):
            for b in counts[i + 1 :]:
                out |= a > b
    return out


def _timing_problems(row: Any, r: int, loc: Locator) -> list[Problem]:
    """Customers closed within 30 days ≤ within 90 days ≤ all the month's customers."""
    chain = [
        ("customers_30d", getattr(row, "customers_30d", None), "Customers in 30 days"),
        ("customers_90d", getattr(row, "customers_90d", None), "Customers in 90 days"),
        ("customers", row.customers, "Customers"),
    ]
    known = [(k, v, label) for k, v, label in chain if v is not None and not np.isnan(v)]
    return [
        Problem(loc.cell(r, key), f"{label} ({value:,.0f}) exceed {later} ({bound:,.0f})")
        for (key, value, label), (_, bound, later) in itertools.pairwise(known)
        if value > bound
    ]


# --- Portfolio figures ------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFigures:
    """Blended figures of a portfolio, computed from its rows."""

    leads: float
    spend: float
    customers: float
    blended_cpl: float
    blended_conversion: float
    blended_cpa: float
    first_party_share: float


def lead_shares(sources: pd.DataFrame) -> pd.Series:
    """Each source's share of monthly leads."""
    total = sources["leads"].sum()
    return sources["leads"] / total if total > 0 else sources["leads"] * 0.0


def spend_shares(sources: pd.DataFrame) -> pd.Series:
    """Each source's share of current spend (0 when nothing is spent)."""
    total = sources["spend"].sum()
    return sources["spend"] / total if total > 0 else sources["spend"] * 0.0


def source_cpa(sources: pd.DataFrame) -> pd.Series:
    """Cost per customer of each source: CPL ÷ conversion (NaN when conversion is 0)."""
    conversion = sources["conversion"].where(sources["conversion"] > 0)
    return sources["cpl"] / conversion


def leads_bought_by_tier(sources: pd.DataFrame, price_tiers: pd.DataFrame) -> pd.Series:
    """Of each source's monthly leads today, those bought in each price tier (one value per
    PriceTiers row, in its order): from the previous tier's limit up to this one's, the last
    tier taking the rest — as the PriceTiers table's ``Leads bought today`` column shows.

    Examples
    --------
    >>> src = pd.DataFrame({"leads": [816.0]}, index=["Premium"])
    >>> tiers = pd.DataFrame({"source": ["Premium"] * 3, "up_to": [500.0, 700.0, 900.0]})
    >>> leads_bought_by_tier(src, tiers).tolist()
    [500.0, 200.0, 116.0]
    """
    up_to = price_tiers["up_to"].astype(float)
    # one pass over each source's distinct limits (a scan per row was quadratic in rows)
    limits = (
        pd.DataFrame({"source": price_tiers["source"], "up_to": up_to})
        .dropna()
        .drop_duplicates()
        .sort_values(["source", "up_to"], kind="stable")
    )
    by_source = limits.groupby("source", sort=False)["up_to"]
    limits["lower"] = by_source.shift(1).fillna(0.0)
    limits["last"] = limits["up_to"] == by_source.transform("max")
    keyed = limits.set_index(["source", "up_to"])
    at = pd.MultiIndex.from_arrays([price_tiers["source"], up_to])
    lower = keyed["lower"].reindex(at).fillna(0.0).to_numpy()
    last = keyed["last"].reindex(at).fillna(True).to_numpy(dtype=bool)
    known = among(price_tiers["source"], sources.index)
    leads = np.where(known, sources["leads"].reindex(price_tiers["source"]).to_numpy(float), 0.0)
    # Python's min/max as before: a NaN on the right loses (np.fmin), a NaN gap buys none
    top = np.where(last, leads, np.fmin(up_to.to_numpy(), leads))
    gap = top - lower
    return pd.Series(np.where(gap > 0.0, gap, 0.0), index=price_tiers.index, dtype=float)


def cpl_in_use(sources: pd.DataFrame, price_tiers: pd.DataFrame) -> pd.Series:
    """The cost per lead Rebalance prices each source at today: its CPL, or where it has
    price tiers, their average over today's monthly leads (the first tier's price when it
    buys none) — the Sources table's ``CPL used`` column.

    Examples
    --------
    >>> src = pd.DataFrame({"leads": [816.0, 100.0], "cpl": [150.0, 60.0]}, index=["P", "Q"])
    >>> tiers = pd.DataFrame({"source": ["P", "P"], "up_to": [500.0, 900.0],
    ...                       "cpl": [140.0, 160.0]})
    >>> cpl_in_use(src, tiers).round(2).tolist()
    [147.75, 60.0]
    """
    bought = leads_bought_by_tier(sources, price_tiers)
    cost = (bought * price_tiers["cpl"]).groupby(price_tiers["source"]).sum()
    first = price_tiers.groupby("source")["cpl"].min()
    used = sources["cpl"].astype(float).copy()
    tiered = used.index.intersection(first.index)
    leads = sources.loc[tiered, "leads"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):  # no leads: the first tier's price
        average = cost.reindex(tiered).to_numpy(float) / leads
    used.loc[tiered] = np.where(leads > 0, average, first.reindex(tiered).to_numpy(float))
    return used


def portfolio_figures(sources: pd.DataFrame) -> PortfolioFigures:
    """Blended CPL and conversion (lead-weighted), CPA, totals and first-party share.

    Examples
    --------
    >>> f = portfolio_figures(seed_sources())
    >>> round(f.blended_cpl, 2), round(f.blended_conversion, 4), f.leads
    (121.42, 0.1552, 2400.0)
    """
    leads = float(sources["leads"].sum())
    if leads <= 0:
        nan = float("nan")
        return PortfolioFigures(0.0, float(sources["spend"].sum()), 0.0, nan, nan, nan, nan)
    cpl = float((sources["leads"] * sources["cpl"]).sum() / leads)
    conversion = float((sources["leads"] * sources["conversion"]).sum() / leads)
    first = float(sources.loc[sources["party"] == Party.FIRST, "leads"].sum() / leads)
    return PortfolioFigures(
        leads=leads,
        spend=float(sources["spend"].sum()),
        customers=float((sources["leads"] * sources["conversion"]).sum()),
        blended_cpl=cpl,
        blended_conversion=conversion,
        blended_cpa=cpl / conversion if conversion > 0 else float("nan"),
        first_party_share=first,
    )


@dataclass(frozen=True)
class StatedTotals:
    """Totals as stated elsewhere (a deck, a vendor report); any may be missing."""

    leads: float | None = None
    blended_cpl: float | None = None
    blended_conversion: float | None = None
    tolerance: float = 0.01


def stated_total_findings(figures: PortfolioFigures, stated: StatedTotals) -> list[Problem]:
    """Warnings for stated totals that differ from what the rows give, beyond the tolerance.

    Examples
    --------
    >>> figures = portfolio_figures(seed_sources())
    >>> for p in stated_total_findings(figures, StatedTotals(2400, 127, 0.142)): print(p)
    Sources!E6: stated blended CPL $127.00 does not follow from the rows, which give $121.42
    Sources!E7: stated blended conversion 14.20% does not follow from the rows, which give 15.52%
    """
    checks = (
        ("StatedLeads", "monthly leads", stated.leads, figures.leads, "{:,.0f}"),
        ("StatedCPL", "blended CPL", stated.blended_cpl, figures.blended_cpl, "${:,.2f}"),
        (
            "StatedConversion",
            "blended conversion",
            stated.blended_conversion,
            figures.blended_conversion,
            "{:.2%}",
        ),
    )
    findings = []
    for name, label, said, actual, fmt in checks:
        if said is None or np.isnan(actual):
            continue
        if abs(actual - said) > stated.tolerance * abs(said):
            cell = NAMED_CELLS[name]
            findings.append(
                Problem(
                    f"{cell.sheet}!{cell.cell}",
                    f"stated {label} {fmt.format(said)} does not follow from the "
                    f"rows, which give {fmt.format(actual)}",
                    Severity.WARNING,
                )
            )
    return findings


# --- Seed data (doctests, tests and the demo) -------------------------------------------

SEED_SOURCES: tuple[tuple[str, str, Party, str, float, float, float], ...] = (
    # name, vendor, party, channel, share of leads, CPL, conversion — the chapter's table
    ("Premium comparison sites", "CompareHub", Party.THIRD, "Comparison site", 0.34, 156, 0.168),
    ("Insurance aggregators", "Aggregator Network", Party.THIRD, "Aggregator", 0.28, 134, 0.141),
    ("Mortgage broker referrals", "BrokerLink", Party.THIRD, "Broker referral", 0.16, 98, 0.112),
    ("Organic search", "In-house", Party.FIRST, "Organic search", 0.12, 67, 0.189),
    ("Content downloads", "In-house", Party.FIRST, "Content", 0.06, 89, 0.153),
    ("Referral programme", "In-house", Party.FIRST, "Referral", 0.04, 45, 0.221),
)
SEED_MONTHLY_LEADS = 2_400


def seed_sources() -> pd.DataFrame:
    """The chapter's six TechFlow sources as a minimal sources frame (2,400 leads/month)."""
    rows = [
        {
            "source": n,
            "party": p,
            "leads": share * SEED_MONTHLY_LEADS,
            "cpl": float(cpl),
            "conversion": conv,
            "spend": share * SEED_MONTHLY_LEADS * cpl,
        }
        for n, _, p, _, share, cpl, conv in SEED_SOURCES
    ]
    return pd.DataFrame(rows).set_index("source", drop=False).rename_axis(None)
