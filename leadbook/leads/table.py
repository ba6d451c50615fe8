"""The lead table: validated leads, their features, and reading them from big files.

A lead table has the contract's fixed columns (Lead ID, Source, Created, Cost, Resale allowed,
Converted, Value) and any number of **feature** columns: every column whose header is not a
contract column. A feature is numeric when most of its cells are numbers (the others are
then errors), categorical otherwise; blank cells are missing values, which the models handle.
Closed leads (Converted yes or no) train the model; open leads (Converted blank) are scored.

:func:`parse_leads` validates a table and reports every problem at its cell;
:func:`read_lead_file` reads CSV or Parquet files larger than a sheet in chunks.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leadbook.contract import LEADS_TABLE, Role
from leadbook.contract.tables import Locator, parse_table
from leadbook.errors import LeadbookError, Problem
from leadbook.files import require_regular_file

NUMERIC = "numeric"
CATEGORICAL = "categorical"
FIXED_HEADERS = {" ".join(c.header.split()).casefold(): c.key for c in LEADS_TABLE.columns}
OUTPUT_KEYS = frozenset(c.key for c in LEADS_TABLE.columns if c.role is not Role.INPUT)
MAX_LISTED_PROBLEMS = 100


@dataclass(frozen=True)
class LeadTable:
    """Validated leads: ``fixed`` (contract keys) and ``features`` (by header), row-aligned.

    ``fixed`` has ``at_row`` (the row's position in its table), ``lead_id``, ``source``,
    ``created``, ``cost``, ``resale`` (True/False/None), ``outcome`` (1.0, 0.0, or NaN when
    open) and ``value``. ``kinds`` maps each feature to ``"numeric"`` or ``"categorical"``.
    """

    fixed: pd.DataFrame
    features: pd.DataFrame
    kinds: Mapping[str, str]

    def __len__(self) -> int:
        return len(self.fixed)

    @property
    def is_closed(self) -> np.ndarray:
        return self.fixed["outcome"].notna().to_numpy()

    def subset(self, mask: np.ndarray) -> LeadTable:
        """The leads where ``mask`` is true."""
        return LeadTable(
            self.fixed[mask].reset_index(drop=True),
            self.features[mask].reset_index(drop=True),
            self.kinds,
        )

    def closed(self) -> LeadTable:
        return self.subset(self.is_closed)

    def open(self) -> LeadTable:
        return self.subset(~self.is_closed)

    def model_frame(self) -> pd.DataFrame:
        """What the model sees: the source and the features (never cost, value or outcome)."""
        frame = self.features.copy()
        frame.insert(0, "Source", self.fixed["source"].astype(object).to_numpy())
        return frame


def split_columns(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw cells by header → the contract columns (by key) and the feature columns (by header).

    Output columns (Probability, Band, …) are neither: leadbook writes them.

    Examples
    --------
    >>> raw = pd.DataFrame({"Lead ID": ["L1"], "source": ["Organic search"],
    ...                     "Pages viewed": [4], "Probability": [0.2]})
    >>> fixed, features = split_columns(raw)
    >>> list(fixed.columns), list(features.columns)
    (['lead_id', 'source'], ['Pages viewed'])
    """
    fixed, features = {}, {}
    for header in raw.columns:
        if header is None or not str(header).strip():
            continue
        key = FIXED_HEADERS.get(" ".join(str(header).split()).casefold())
        if key is None:
            features[str(header).strip()] = raw[header].to_numpy()
        elif key not in OUTPUT_KEYS:
            fixed[key] = raw[header].to_numpy()
    return pd.DataFrame(fixed, index=raw.index), pd.DataFrame(features, index=raw.index)


def parse_leads(
    raw: pd.DataFrame,
    locator: Locator,
    *,
    sources: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> tuple[LeadTable, list[Problem]]:
    """Validate a raw lead table (columns by header) and collect every problem at its cell.

    ``sources`` are the known source names (an unknown one is an error that suggests the
    nearest); ``kinds`` fixes each feature's kind (a trained model's), otherwise it is inferred.

    Examples
    --------
    >>> from leadbook.contract.tables import RowLocator
    >>> raw = pd.DataFrame({"Lead ID": ["L1", "L1", "L3"],
    ...                     "Source": ["Organic search", "Organic serch", "Organic search"],
    ...                     "Cost": [60, -1, 55], "Converted": ["yes", None, "no"],
    ...                     "Pages viewed": [4, "lots", 7], "Region": ["North", None, "7"]})
    >>> table, problems = parse_leads(raw, RowLocator(LEADS_TABLE), sources=["Organic search"])
    >>> for p in problems: print(p)
    Leads row 2, Cost: Cost must be > 0, got -1
    Leads row 2, Lead ID: lead id 'L1' appears twice (first at Leads row 1, Lead ID)
    Leads row 2, Source: source 'Organic serch' is not in Sources — did you mean 'Organic search'?
    Leads row 2, Pages viewed: Pages viewed must be a number like the rest of its column, got 'lots'
    >>> dict(table.kinds)
    {'Pages viewed': 'numeric', 'Region': 'categorical'}
    """
    fixed_raw, feature_raw = split_columns(raw)
    fixed, problems = parse_table(fixed_raw, LEADS_TABLE, locator)
    kept = fixed["at_row"].to_numpy()
    problems += _check_rows(fixed, locator, sources)
    feature_raw = feature_raw.loc[kept]
    features, found_kinds, more = _parse_features(feature_raw, locator, kinds)
    problems += more
    fixed["outcome"] = (
        fixed["outcome"].map(lambda v: np.nan if v is None else float(bool(v))).astype(float)
    )
    table = LeadTable(fixed, features.reset_index(drop=True), found_kinds)
    return table, problems


def _check_rows(fixed: pd.DataFrame, locator: Locator, sources: Sequence[str] | None) -> list:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    known = set(sources) if sources is not None else None
    for row, lead_id, source in zip(
        fixed["at_row"], fixed["lead_id"], fixed["source"], strict=True
    ):
        r = int(row)
        if isinstance(lead_id, str) and lead_id:
            if lead_id in seen:
                first = locator.cell(seen[lead_id], "lead_id")
                problems.append(
                    Problem(
                        locator.cell(r, "lead_id"),
                        f"lead id {lead_id!r} appears twice (first at {first})",
                    )
                )
            seen.setdefault(lead_id, r)
        if known is not None and isinstance(source, str) and source and source not in known:
            near = difflib.get_close_matches(source, list(known), n=1, cutoff=0.6)
            hint = f" — did you mean {near[0]!r}?" if near else ""
            problems.append(
                Problem(locator.cell(r, "source"), f"source {source!r} is not in Sources{hint}")
            )
    return problems


def _parse_features(
    raw: pd.DataFrame, locator: Locator, kinds: Mapping[str, str] | None
) -> tuple[pd.DataFrame, dict[str, str], list[Problem]]:
    out, found, problems = {}, {}, []
    for name in raw.columns:
        values = list(raw[name])
        numbers = [_as_number(v) for v in values]
        blank = [_is_blank(v) for v in values]
        n_numeric = sum(1 for x, b in zip(numbers, blank, strict=True) if x is not None and not b)
        n_filled = sum(1 for b in blank if not b)
        kind = (kinds or {}).get(name) or (
            NUMERIC if n_filled and n_numeric > 0.5 * n_filled else CATEGORICAL
        )
        found[name] = kind
        if kind == NUMERIC:
            for row, value, x, b in zip(raw.index, values, numbers, blank, strict=True):
                if x is None and not b:
                    what = "a finite number" if _is_infinite(value) else "a number"
                    problems.append(
                        Problem(
                            locator.cell(int(row), name),
                            f"{name} must be {what} like the rest of its column, got {value!r}",
                        )
                    )
            out[name] = pd.Series(
                [np.nan if x is None else x for x in numbers], index=raw.index, dtype=float
            )
        else:
            out[name] = pd.Series(
                [None if b else _as_text(v) for v, b in zip(values, blank, strict=True)],
                index=raw.index,
                dtype=object,
            )
    if kinds is not None:
        missing = [n for n in kinds if n not in raw.columns]
        if missing:
            problems.append(
                Problem(
                    locator.header(),
                    f"the lead table has no feature column {', '.join(map(repr, missing))}, "
                    "which the model was trained on; add it back or retrain",
                )
            )
    return pd.DataFrame(out, index=raw.index), found, problems


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _as_number(value: object) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        # ±inf (a Parquet float column may hold it) is no number a model can read
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        scale = 0.01 if text.endswith("%") else 1.0
        try:
            number = float(text.rstrip("%")) * scale
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _is_infinite(value: object) -> bool:
    return isinstance(value, float | np.floating) and math.isinf(float(value))


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- Files larger than a sheet -------------------------------------------------------------


@dataclass(frozen=True)
class FileLocator:
    """Cells of a lead file: ``leads.csv line 12`` (the header is line 1)."""

    name: str
    first_line: int = 2

    def cell(self, row: int, key: str) -> str:
        header = LEADS_TABLE.column(key).header if key in LEADS_TABLE.keys else key
        return f"{self.name} line {self.first_line + row:,}, {header}"

    def header(self) -> str:
        return f"{self.name} header"


def lead_file_rows(path: Path) -> int:
    """How many data rows a lead file holds (for the progress bar)."""
    require_regular_file(path)
    if path.suffix.lower() == ".parquet":
        return int(_parquet(path).ParquetFile(path).metadata.num_rows)
    with path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return max(lines - 1, 0)


def read_lead_file(path: str | Path, chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
    """The raw cells of a CSV or Parquet lead file, ``chunk_rows`` rows at a time.

    Each chunk's index is the row's position in the file (0 = first data row).

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> f = os.path.join(folder, "leads.csv")
    >>> text = "Lead ID,Source,Cost\\nL1,Organic search,60\\nL2,Organic search,61\\n"
    >>> _ = open(f, "w").write(text)
    >>> [list(c.index) for c in read_lead_file(f, chunk_rows=1)]
    [[0], [1]]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    require_regular_file(path)
    if suffix == ".csv":
        start = 0
        reader = pd.read_csv(path, chunksize=chunk_rows, dtype=object, keep_default_na=False)
        for chunk in reader:
            chunk.index = range(start, start + len(chunk))
            start += len(chunk)
            yield chunk.replace({"": None})
    elif suffix == ".parquet":
        start = 0
        for batch in _parquet(path).ParquetFile(path).iter_batches(batch_size=chunk_rows):
            chunk = batch.to_pandas()
            chunk.index = range(start, start + len(chunk))
            start += len(chunk)
            yield chunk.astype(object).where(chunk.notna(), None)
    else:
        raise LeadbookError(
            f"{path.name}: lead files must be .csv or .parquet, not {suffix or 'no extension'}"
        )


def _parquet(path: Path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise LeadbookError(
            f"{path.name}: reading Parquet needs pyarrow, which is not installed; install it "
            "with: pip install 'leadbook[parquet]' (or save the leads as CSV)"
        ) from None
    return pq


def capped(problems: list[Problem], where: str) -> list[Problem]:
    """At most :data:`MAX_LISTED_PROBLEMS` problems, and a line saying how many more there are."""
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    more = len(problems) - MAX_LISTED_PROBLEMS
    return [*problems[:MAX_LISTED_PROBLEMS], Problem(where, f"… and {more:,} more problems")]


def by_header(frame: pd.DataFrame) -> pd.DataFrame:
    """A lead frame with contract keys renamed to their headers (features keep theirs).

    Examples
    --------
    >>> list(by_header(pd.DataFrame(columns=["lead_id", "Pages viewed"])).columns)
    ['Lead ID', 'Pages viewed']
    """
    headers = {c.key: c.header for c in LEADS_TABLE.columns}
    return frame.rename(columns=lambda c: headers.get(c, c))
