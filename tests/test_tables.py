"""parse_table's fast paths (each distinct text parsed once, plain numbers checked in one numpy
pass) give what parse_cell gives cell by cell: the same values and the same messages."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadbook import contract as C
from leadbook.contract.tables import NotFinite, SheetLocator, parse_cell, parse_table

TABLES = [C.SOURCES_TABLE, C.HISTORY_TABLE, C.PRICE_TIERS_TABLE, C.SETTINGS_TABLE]

_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**14), 10**14),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 1.0, 0.5, 2.5, 16.8, 100, 100.5, -0.0, 1e12, 1e12 + 1, 3.0]),
    st.sampled_from(["", " ", "12", "16.8%", "1,250", "1,5", "abc", "2026-03-01", "yes"]),
    st.sampled_from([NotFinite(math.inf), NotFinite(math.nan)]),
    st.dates(dt.date(1980, 1, 1), dt.date(2040, 1, 1)),
)


def reference(raw: pd.DataFrame, spec: C.TableSpec) -> tuple[dict, list[str]]:
    """What parse_cell says of each kept cell, and every message, in parse_table's order."""
    values, messages = {}, []
    for col in spec.columns:
        if col.role is not C.Role.INPUT or col.key not in raw:
            continue
        for row, value in raw[col.key].items():
            parsed, message = parse_cell(col, value)
            values[(row, col.key)] = parsed
            if message:
                messages.append(f"{row}:{col.key}:{message}")
    return values, messages


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_parse_table_gives_what_parse_cell_gives(spec, data):
    keys = [c.key for c in spec.columns if c.role is C.Role.INPUT]
    rows = data.draw(
        st.lists(st.fixed_dictionaries({k: _cells for k in keys}), min_size=1, max_size=8)
    )
    raw = pd.DataFrame(rows, columns=keys, dtype=object)
    frame, problems = parse_table(raw, spec, SheetLocator.from_spec(spec))
    want, messages = reference(raw, spec)
    located = {p.where: p.message for p in problems if p.severity == "error"}
    got_messages = []
    for row, col_key in want:
        where = SheetLocator.from_spec(spec).cell(int(row), col_key)
        if where in located:
            got_messages.append(f"{row}:{col_key}:{located[where]}")
    # rows that are blank in every present column are dropped before parsing
    kept = set(frame["at_row"])
    assert got_messages == [m for m in messages if int(m.split(":")[0]) in kept]
    for i, row in enumerate(frame["at_row"]):
        for key in keys:
            expect = want[(row, key)]
            got = frame[key].iloc[i]
            if spec.column(key).kind in C.NUMERIC_KINDS:
                expect = math.nan if expect is None else float(expect)
                assert (math.isnan(got) and math.isnan(expect)) or got == expect, (row, key)
            else:
                assert got == expect or (pd.isna(got) and expect is None), (row, key)


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00Z", "2026-01-15 08:00+05:00"])
def test_a_month_typed_as_text_with_a_time_zone_is_read_not_a_crash(text):
    # A month cell typed as text with a zone (as pasted from a web export) was read by
    # pd.Timestamp as a zoned time, whose comparison with the naive bounds raised TypeError:
    # `leadbook check` stopped with "an unexpected error ... this is a bug in leadbook".
    month = C.HISTORY_TABLE.column("month")
    assert parse_cell(month, text) == (pd.Timestamp("2026-01-01"), None)


def test_a_missing_value_pandas_gives_reads_as_a_blank_cell():
    # A frame handed to build_inventory with pandas' own missing value (a "string" or "Int64"
    # column) had its pd.NA parsed as the text '<NA>': a source named '<NA>', silently.
    # parse_table's blank-row test (_blank_cells, pd.factorize) already counts it as blank.
    from leadbook.contract.tables import _blank_cells, _is_blank

    assert parse_cell(C.SOURCES_TABLE.column("source"), pd.NA) == (None, "Source is empty")
    assert parse_cell(C.HISTORY_TABLE.column("leads"), pd.NA) == (None, "Leads is empty")
    values = [pd.NA, None, pd.NaT, math.nan, "\u3000", "\x1c", "", "a", 0, False]
    blank = _blank_cells(pd.Series(values, dtype=object)).tolist()
    assert blank == [_is_blank(v) for v in values]
