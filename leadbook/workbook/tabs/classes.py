"""The Tiers and Scores tabs, which Refresh rewrites."""

from __future__ import annotations

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.contract import file_formula
from leadbook.portfolio.classify import BAND_GROUPS
from leadbook.settings import spec_for
from leadbook.workbook.layout import (
    Expected,
    anchor_of,
    color_scale,
    freeze,
    highlight_text,
    note,
    table_column_range,
    title,
    write_table,
)

_GROUP_COLUMN = {"Tier": "Tier", "Lead type": "Lead type", "Risk": "Risk"}


def render_tiers(
    ws: Worksheet,
    classes: pd.DataFrame | None,
    spend: pd.Series | None,
    usage: pd.DataFrame,
    expected: Expected,
) -> None:
    """Classes (with reasons) and today's spend by class against the Settings bands
    (``usage``, from :func:`~leadbook.portfolio.classify.band_usage`: the live formulas'
    values)."""
    title(ws, C.TIERS)
    rows = None
    if classes is not None:
        assert spend is not None
        rows = classes.assign(source=classes.index, spend=spend.reindex(classes.index).to_numpy())
    write_table(ws, C.CLASSES_TABLE, rows, expected)
    note(ws, "K2", "Today's spend by class against the bands on Settings (live formulas).")
    write_table(
        ws,
        C.BANDS_TABLE,
        usage,
        expected,
        formula_values={
            k: usage[k].tolist() for k in ("spend", "share", "band_min", "band_max", "status")
        },
        row_formulas=_band_formulas(usage),
        style="TableStyleLight9",
    )
    highlight_text(
        ws, table_column_range(ws, C.BANDS_TABLE, "status", len(usage)), ["below", "above"]
    )
    header_row, _ = anchor_of(C.CLASSES_TABLE)
    freeze(ws, header_row + 1, 2)


def _band_formulas(usage: pd.DataFrame) -> dict[str, list[str]]:
    attrs = {klass.value: attr for _, _, members in BAND_GROUPS for klass, attr in members}
    spend, lows, highs = [], [], []
    for group, klass in zip(usage["group"], usage["klass"], strict=True):
        column = _GROUP_COLUMN[group]
        spend.append(
            file_formula(
                C.BANDS_TABLE, f"SUMIFS(Classes[Current spend],Classes[{column}],[@Class])"
            )[1:]
        )
        lows.append(spec_for(f"bands.{attrs[klass]}.min").name)
        highs.append(spec_for(f"bands.{attrs[klass]}.max").name)
    return {"spend": spend, "band_min": lows, "band_max": highs}


def render_scores(ws: Worksheet, scores: pd.DataFrame | None, expected: Expected) -> None:
    """Subscores, the weighted composite (a live formula) and the rank."""
    title(ws, C.SCORES)
    rows = None if scores is None else scores.assign(source=scores.index)
    values = (
        {}
        if scores is None
        else {"composite": scores["composite"].tolist(), "rank": scores["rank"].tolist()}
    )
    write_table(ws, C.SCORES_TABLE, rows, expected, formula_values=values)
    n = 0 if scores is None else len(scores)
    for key in ("performance", "reliability", "strategic", "risk", "composite"):
        color_scale(ws, table_column_range(ws, C.SCORES_TABLE, key, n))
    header_row, _ = anchor_of(C.SCORES_TABLE)
    freeze(ws, header_row + 1, 2)
