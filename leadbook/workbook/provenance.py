"""When each output tab was computed, by what, and from which inputs — and which are stale.

Every output tab carries a stamp in row 1, beside its title::

    Computed 2026-12-02 14:03:11 by rebalance (command line) · inputs Settings 1a2b3c4d ·
    Sources 5e6f7a8b · History 9c0d1e2f

Each fingerprint is a hash of one group of input cells (:data:`GROUPS`) as they were when the
tab was computed; tabs that read other output tabs (the Board reads the Allocation) also
record the stamp of each tab they read. A tab is stale when an input group it was computed
from has changed since, or a tab it read has been recomputed since. ``leadbook check`` lists
stale tabs as warnings; jobs keep the Board and Maturity tabs, which only summarise the
others, in step by re-rendering them when a tab they read changes (:data:`SUMMARY_TABS`).

Fingerprints hash the cell values (as Excel last saved them, or as leadbook wrote them), so
the command line, a button and a file saved by Excel agree on them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.errors import Problem, Severity
from leadbook.workbook.tablecells import find_table, table_columns

STAMP_ROW = 1
COMPUTED = "Computed "
NOT_COMPUTED = "Not computed yet"

GROUPS: dict[str, tuple[C.TableSpec, ...]] = {
    "Settings": (C.SETTINGS_TABLE,),
    "Sources": (C.SOURCES_TABLE, C.PRICE_TIERS_TABLE),
    "History": (C.HISTORY_TABLE,),
    "Leads": (C.LEADS_TABLE,),
    "Maturity answers": (C.MATURITY_ANSWERS_TABLE,),
    "Scenarios": (C.WHATIF_SCENARIOS_TABLE,),
}
"""Input groups: the tables whose input cells one fingerprint covers."""

PORTFOLIO = ("Settings", "Sources", "History")
"""The input groups every portfolio tab is computed from."""
DEPENDS: dict[str, tuple[str, ...]] = {
    C.TIERS.name: PORTFOLIO,
    C.SCORES.name: PORTFOLIO,
    C.ALLOCATION.name: PORTFOLIO,
    C.WHATIF.name: (*PORTFOLIO, "Scenarios"),
    C.ROI.name: PORTFOLIO,
    C.FORECAST.name: PORTFOLIO,
    C.FORECAST_DETAIL.name: PORTFOLIO,
    C.HIRING.name: PORTFOLIO,
    C.LEADS.name: ("Settings", "Sources", "Leads"),
    C.BOARD.name: PORTFOLIO,
    C.MATURITY.name: (*PORTFOLIO, "Maturity answers"),
}
"""Output tab → the input groups it is computed from (Rebalance adds Leads when Settings
take conversion from the lead model)."""

NARROW: dict[tuple[str, str], tuple[str, ...]] = {
    (C.LEADS.name, "Sources"): ("source", "conversion", "revenue_per_customer"),
    (C.LEADS.name, "Settings"): ("section:leads",),
}
"""Where a tab reads only part of a group: (tab, group) → the contract keys of the columns it
reads, or for Settings the sections of the rows it reads (so editing a CPL or the maximum
share leaves the scored leads current). tests/test_provenance.py checks each."""

UNREAD: frozenset[tuple[str, str]] = frozenset({(C.SOURCES_TABLE.name, "channel")})
"""Input columns no calculation reads (Channel is the user's own grouping): editing them
makes no tab stale."""

ORDERED: frozenset[str] = frozenset({C.SOURCES_TABLE.name, C.SETTINGS_TABLE.name})
"""Tables whose row order shows in the outputs (tabs list sources in their order); in the
others, sorting the rows changes nothing, so it makes no tab stale."""

READS: dict[str, tuple[str, ...]] = {
    C.BOARD.name: (C.ALLOCATION.name, C.FORECAST_DETAIL.name, C.LEADS.name),
    C.MATURITY.name: (C.BOARD.name, C.FORECAST.name, C.FORECAST_DETAIL.name, C.LEADS.name),
}
"""Output tab → the output tabs whose tables it reads."""

SUMMARY_TABS = (C.BOARD.name, C.MATURITY.name)
"""Tabs that only summarise others: a job re-renders them when a tab they read changes."""


@dataclass(frozen=True)
class Stamp:
    """What an output tab was computed from: when, by which command, the input fingerprints."""

    when: dt.datetime
    command: str
    inputs: Mapping[str, str]
    reads: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        text = f"{COMPUTED}{self.when:%Y-%m-%d %H:%M:%S} by {self.command} · inputs "
        text += " · ".join(f"{g} {h}" for g, h in self.inputs.items())
        if self.reads:
            text += " · reads " + " · ".join(f"{t} {h}" for t, h in self.reads.items())
        return text

    def ident(self, tab: str) -> str:
        """A short hash of tab ``tab`` with this stamp: its fingerprint for the tabs reading it."""
        return _short(f"{tab}\n{self.text}")


_STAMP = re.compile(
    r"^Computed (?P<when>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) by (?P<command>.+?) · "
    r"inputs (?P<inputs>.*?)(?: · reads (?P<reads>.*))?$"
)
_PAIR = re.compile(r"^(?P<name>.+) (?P<hash>[0-9a-f]{8})$")


def parse_stamp(text: object) -> Stamp | None:
    """The :class:`Stamp` written as ``text``; None when ``text`` is not one.

    Examples
    --------
    >>> s = Stamp(dt.datetime(2026, 12, 2, 14, 3, 11), "rebalance (command line)",
    ...           {"Settings": "1a2b3c4d", "Sources": "5e6f7a8b"}, {"Allocation": "0a1b2c3d"})
    >>> print(s.text)
    Computed 2026-12-02 14:03:11 by rebalance (command line) · inputs Settings 1a2b3c4d ·
    Sources 5e6f7a8b · reads Allocation 0a1b2c3d
    >>> parse_stamp(s.text) == s
    True
    >>> parse_stamp("Not computed yet") is None
    True
    """
    if not isinstance(text, str):
        return None
    m = _STAMP.match(text.strip())
    if m is None:
        return None
    return Stamp(
        dt.datetime.strptime(m["when"], "%Y-%m-%d %H:%M:%S"),
        m["command"],
        _pairs(m["inputs"]),
        _pairs(m["reads"] or ""),
    )


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(" · "):
        m = _PAIR.match(part.strip())
        if m:
            out[m["name"]] = m["hash"]
    return out


# --- Fingerprints ------------------------------------------------------------------------


def fingerprint(wb: Workbook, group: str, keys: Iterable[str] | None = None) -> str:
    """A short hash of the input cells of ``group`` in ``wb`` (only columns ``keys`` if given).

    Cells are compared by value: a number is the same number whether Excel, openpyxl or an
    Excel button stored it, text is compared without surrounding spaces, empty rows do not
    count, and the order of rows counts only where the outputs show it (:data:`ORDERED`).
    """
    keys = None if keys is None else tuple(keys)
    payload = [_table_cells(wb, spec, keys) for spec in GROUPS[group]]
    return _short(json.dumps(payload, sort_keys=True, ensure_ascii=False))


class Fingerprints:
    """The fingerprints of a workbook's inputs as a job read them, computed when first asked.

    A job reads its inputs (:func:`leadbook.workbook.read.read_book`) before it writes, so the
    stamps it writes name the inputs it actually used, hashed as it read them.
    """

    def __init__(self, wb: Workbook):
        self._wb = wb
        self._cache: dict[tuple[str, tuple[str, ...] | None], str] = {}

    def settle(self, groups: Iterable[str]) -> None:
        """Compute the fingerprints of ``groups`` (as every tab but Leads reads them) now,
        then let the workbook forget the cells it read (a streamed workbook reads them again
        if another fingerprint needs them): a job at 10,000 sources need not hold 200,000
        History rows through its write."""
        for group in groups:
            if (group, None) not in self._cache:
                self._cache[(group, None)] = fingerprint(self._wb, group)
        for ws in self._wb.worksheets:
            forget = getattr(ws, "forget", None)
            if forget is not None:
                forget()

    def of(self, tab: str, group: str) -> str:
        """The fingerprint of ``group`` as output tab ``tab`` reads it."""
        keys = NARROW.get((tab, group))
        if (group, keys) not in self._cache:
            self._cache[(group, keys)] = fingerprint(self._wb, group, keys)
        return self._cache[(group, keys)]


def _table_cells(wb: Workbook, spec: C.TableSpec, keys: tuple[str, ...] | None) -> Any:
    found = find_table(wb, spec)
    if found is None:
        return None
    ws, table = found
    sections = [k.removeprefix("section:") for k in keys or () if k.startswith("section:")]
    if sections:
        keys = ("key", "value")
    wanted = _columns_read(spec, keys)
    headers, cells = table_columns(ws, table.ref)
    columns = {}
    for header, column in zip(map(_norm, headers), cells, strict=True):
        if wanted(header):
            columns[header] = [_canonical(value) for value in column]
    rows = list(zip(*columns.values(), strict=True)) if columns else []
    if sections and "key" in columns:
        at = list(columns).index("key")
        rows = [r for r in rows if _in_sections(r[at], sections)]
    rows = [r for r in rows if any(v is not None for v in r)]
    if spec.name not in ORDERED:
        rows.sort(key=lambda r: json.dumps(r, ensure_ascii=False))
    return {h: [row[j] for row in rows] for j, h in enumerate(columns)}


def _in_sections(key: object, sections: list[str]) -> bool:
    from leadbook.settings import spec_for

    try:
        return spec_for(str(key)).section in sections
    except KeyError:
        return False


def _columns_read(spec: C.TableSpec, keys: tuple[str, ...] | None) -> Any:
    """Which headers of ``spec`` count: the named keys; else its input columns and, on a
    table whose other columns leadbook writes (Leads), any column the user added."""
    if keys is not None:
        names = {_norm(spec.column(k).header) for k in keys if k in spec.keys}
        return names.__contains__
    unread = {_norm(spec.column(k).header) for t, k in UNREAD if t == spec.name}
    if spec is C.SETTINGS_TABLE:
        names = {_norm(spec.column(k).header) for k in ("key", "value")}
        return names.__contains__
    owned = {_norm(c.header) for c in spec.columns if c.role is not C.Role.INPUT}
    inputs = {_norm(c.header) for c in spec.by_role(C.Role.INPUT)}
    if spec.sheet in C.OUTPUT_SHEETS:
        return lambda header: bool(header) and header not in owned
    return lambda header: header in inputs and header not in unread


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def _canonical(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) else format(number, ".12g")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


# --- Stamps on the tabs --------------------------------------------------------------------


def stamp_cell(ws: Worksheet) -> Any:
    """The cell of row 1 that holds (or will hold) ``ws``'s stamp: right of the title."""
    from leadbook.workbook.layout import width_of

    found = _stamp_in_row(ws)
    if found is not None:
        return found
    title = str(ws.cell(STAMP_ROW, 1).value or "")
    needed, width, col = 2 + 1.6 * len(title), 0.0, 1
    while width < needed:
        width += width_of(ws, get_column_letter(col))
        col += 1
    return ws.cell(STAMP_ROW, max(col, 2))


def _stamp_in_row(ws: Worksheet) -> Any:
    """The cell of row 1 that holds a stamp or the not-computed note, or None."""
    for cell in ws[STAMP_ROW]:
        if isinstance(cell.value, str) and cell.value.startswith((COMPUTED, NOT_COMPUTED)):
            return cell
    return None


def read_stamp(ws: Worksheet) -> Stamp | None:
    """The stamp on ``ws``, or None if it has none (never computed, or an old workbook)."""
    found = _stamp_in_row(ws)
    return parse_stamp(found.value) if found is not None else None


def write_stamp(ws: Worksheet, stamp: Stamp | None) -> None:
    """Write ``stamp`` (None: "not computed yet") in row 1 of ``ws``, in grey."""
    from leadbook.workbook.layout import NOTE_FONT

    cell = stamp_cell(ws)
    cell.value = NOT_COMPUTED if stamp is None else stamp.text
    cell.font = NOTE_FONT


def stamp_tabs(
    wb: Workbook,
    tabs: Iterable[str],
    command: str,
    when: dt.datetime,
    prints: Fingerprints,
    extra_groups: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Stamp each of ``tabs`` as computed at ``when`` by ``command`` from the inputs whose
    fingerprints are ``prints``.

    ``extra_groups`` adds input groups a tab used this time (Rebalance with the lead model).
    Tabs are stamped in dependency order, so a summary tab records the new stamps it read.
    """
    extra_groups = extra_groups or {}
    for tab in sorted(tabs, key=_order):
        if tab not in wb.sheetnames or tab not in DEPENDS:
            continue
        extra = tuple(g for g in extra_groups.get(tab, ()) if g not in DEPENDS[tab])
        inputs = {g: prints.of(tab, g) for g in DEPENDS[tab] + extra}
        reads = {}
        for other in READS.get(tab, ()):
            upstream = read_stamp(wb[other]) if other in wb.sheetnames else None
            if upstream is not None:
                reads[other] = upstream.ident(other)
        write_stamp(wb[tab], Stamp(when, command, inputs, reads))


def _order(tab: str) -> int:
    """Summary tabs after the tabs they read."""
    return SUMMARY_TABS.index(tab) + 1 if tab in SUMMARY_TABS else 0


# --- Staleness ---------------------------------------------------------------------------

RECOMPUTE = {
    C.TIERS.name: "Refresh (leadbook refresh BOOK)",
    C.SCORES.name: "Refresh (leadbook refresh BOOK)",
    C.ROI.name: "Refresh (leadbook refresh BOOK)",
    C.FORECAST.name: "Refresh or Refresh forecast (leadbook refresh|forecast BOOK)",
    C.FORECAST_DETAIL.name: "Refresh or Refresh forecast (leadbook refresh|forecast BOOK)",
    C.HIRING.name: "Refresh or Plan hiring (leadbook refresh|plan BOOK)",
    C.ALLOCATION.name: "Rebalance (leadbook rebalance BOOK)",
    C.WHATIF.name: "Compare scenarios (leadbook whatif BOOK)",
    C.LEADS.name: "Score leads (leadbook score-leads BOOK)",
    C.BOARD.name: "Refresh (leadbook refresh BOOK)",
    C.MATURITY.name: "Refresh (leadbook refresh BOOK)",
}
"""Output tab → the button and command that recompute it (Refresh also re-renders the
summary tabs)."""


@dataclass(frozen=True)
class TabStatus:
    """One output tab's state: its stamp, and why it is stale (empty when current)."""

    tab: str
    stamp: Stamp | None
    changed: tuple[str, ...] = ()
    failed: str = ""
    """Why the last run of the tab's job could not recompute it (its status cell says)."""

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.failed)

    def problem(self) -> Problem:
        assert self.stamp is not None
        press = f"press {RECOMPUTE[self.tab]}"
        if self.failed:
            return Problem(self.tab, f"stale: {self.failed}; {press}", Severity.WARNING)
        what = " and ".join(self.changed)
        return Problem(
            self.tab,
            f"stale: {what} changed since {self.stamp.command} computed it at "
            f"{self.stamp.when:%Y-%m-%d %H:%M}; {press}",
            Severity.WARNING,
        )


def tab_statuses(wb: Workbook) -> list[TabStatus]:
    """The state of every stamped output tab of ``wb``, in the contract's tab order."""
    prints = Fingerprints(wb)
    out = []
    for spec in C.SHEETS:
        if spec.name not in DEPENDS or spec.name not in wb.sheetnames:
            continue
        stamp = read_stamp(wb[spec.name])
        if stamp is None:
            continue
        changed = []
        for group, recorded in stamp.inputs.items():
            if group not in GROUPS:
                continue
            if prints.of(spec.name, group) != recorded:
                changed.append(group)
        for other, recorded in stamp.reads.items():
            upstream = read_stamp(wb[other]) if other in wb.sheetnames else None
            if upstream is None or upstream.ident(other) != recorded:
                changed.append(f"the {other} tab")
        out.append(TabStatus(spec.name, stamp, tuple(changed), _failed(wb, spec.name)))
    return out


FAILED_MARK = "stale — "
"""How a tab's status cell begins when its job could not recompute it."""


def _failed(wb: Workbook, tab: str) -> str:
    """Why the tab's last job failed, as its status cell says (Allocation's only)."""
    status = C.NAMED_CELLS["RebalanceStatus"]
    if tab != status.sheet:
        return ""
    text = wb[tab][status.cell].value
    if isinstance(text, str) and text.startswith(FAILED_MARK):
        return text.removeprefix(FAILED_MARK)
    return ""


def stale_problems(wb: Workbook) -> list[Problem]:
    """A warning naming each stale output tab, what changed and how to recompute it."""
    return [s.problem() for s in tab_statuses(wb) if s.stale]
