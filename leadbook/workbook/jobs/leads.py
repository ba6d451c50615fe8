"""Score leads: the job behind the button, the CLI command and a scheduler.

:func:`score_leads` reads the workbook's Settings and Sources and its lead table (or a CSV or
Parquet file larger than a sheet), loads the model the workbook records — checked byte for
byte, never retrained silently — or trains one (the first time, or on ``retrain``), scores
the open leads, puts money on them (:mod:`leadbook.leads.money`), and writes the Leads tab's
output columns and report through :func:`~leadbook.workbook.write.update_workbook`, which
logs the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook import files
from leadbook.enums import LeadAction
from leadbook.errors import LeadbookError, Problem, raise_errors
from leadbook.leads.drift import Drift, check_drift
from leadbook.leads.model import ModelError, Staleness, TrainedModel, top_factors, train_model
from leadbook.leads.money import (
    ThresholdChoice,
    lead_actions,
    profit_threshold,
    sale_loss_note,
    with_predicted_conversion,
)
from leadbook.leads.store import (
    ModelRecord,
    check_fresh,
    load_model,
    model_dir,
    prune_models,
    save_model,
    stored_models,
)
from leadbook.leads.table import (
    FileLocator,
    LeadTable,
    capped,
    lead_file_rows,
    parse_leads,
    read_lead_file,
)
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings
from leadbook.workbook.jobs.outputs import SUMMARY_RENDERERS
from leadbook.workbook.layout import formula_values, inert_text, now
from leadbook.workbook.leadgrid import read_lead_grid, read_model_record
from leadbook.workbook.read import Book, inspect_workbook, lead_problems, open_inputs
from leadbook.workbook.sheets import mark_rendered
from leadbook.workbook.stream import StreamedBook
from leadbook.workbook.tabs.leads import (
    LeadReport,
    missing_output_columns,
    render_report,
    write_outputs,
)
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) as a lead file is read and scored."""

OUTPUT_COLUMNS = [
    "lead_id",
    "probability",
    "band",
    "value_used",
    "expected_roi",
    "action",
    "priority",
    "price",
    "factors",
]


@dataclass(frozen=True)
class ScoreResult:
    """What Score leads did."""

    write: WriteResult
    record: ModelRecord
    trained: bool
    model: TrainedModel
    scored: pd.DataFrame
    threshold: ThresholdChoice
    staleness: Staleness | None
    sources: pd.DataFrame
    output_file: Path | None = None
    warnings: tuple[str, ...] = field(default=())
    drift: Drift | None = None


@one_job_per_workbook
def score_leads(
    path: str | Path,
    *,
    retrain: bool = False,
    leads_file: str | Path | None = None,
    chunk_rows: int = 50_000,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score the open leads of the workbook at ``path`` (or of ``leads_file``) and write them."""
    path = Path(path)
    wb = open_inputs(path)  # streamed, read once: openpyxl would build every tab's cells
    book = _checked_book(wb, path)
    record = read_model_record(wb)
    if leads_file is None:
        if C.LEADS.name not in wb.sheetnames or C.LEADS_TABLE.name not in wb[C.LEADS.name].tables:
            raise LeadbookError(
                f"{path.name} has no Leads table on a Leads tab; "
                "add one (see docs/qualify.md) or pass --leads FILE"
            )
        missing = missing_output_columns(wb[C.LEADS.name])
        if missing:
            raise LeadbookError(
                f"the Leads table has no output column {', '.join(map(repr, missing))}; "
                "add it back (leadbook writes only its output columns)"
            )
    source = (
        _BookLeads(wb, book.inventory)
        if leads_file is None
        else _FileLeads(Path(leads_file), book.inventory, chunk_rows)
    )
    model, trained, fresh, closed = _model_for(path, record, source, book.settings, retrain)
    scorer = _Scorer(model, book.inventory, book.settings)
    outputs, output_file = source.score(scorer, progress)
    drift = _drift(model, scorer, closed)
    threshold = scorer.threshold()
    _, sources = with_predicted_conversion(book.inventory, scorer.by_source(), book.settings)
    if trained:
        record = save_model(model, path)
    assert record is not None
    report = _report(record, model, book.settings, fresh, scorer, threshold, sources, source)
    report = replace(report, drift=drift.warning())

    def job(wb: Workbook) -> str:
        ws = wb[C.LEADS.name]
        render_report(ws, report, formula_values(wb))
        mark_rendered(wb, C.LEADS.name)
        if leads_file is None:
            write_outputs(ws, outputs.set_index("at_row"), formula_values(wb))
        return _log_line(record, trained, scorer, source) + _drift_note(drift)

    result = update_workbook(
        path,
        "score-leads",
        job,
        book=book,
        changes=(C.LEADS.name,),
        summaries=SUMMARY_RENDERERS,
    )
    if trained:
        prune_models(path, record)
    warnings: tuple[str, ...] = ()
    if fresh is not None and fresh.new_closed:
        warnings = (
            f"{fresh.new_closed} leads closed since the model was trained; "
            "retrain to learn from them (Score leads (retrain) in Excel, leadbook score-leads BOOK "
            "--retrain)",
        )
    if drift.warning():
        warnings += (str(drift.warning()),)
    return ScoreResult(
        result,
        record,
        trained,
        model,
        outputs,
        threshold,
        fresh,
        sources,
        output_file,
        warnings,
        drift,
    )


def _checked_book(wb: StreamedBook, path: Path) -> Book:
    """:func:`~leadbook.workbook.read.read_book` of the workbook already open."""
    book, problems = inspect_workbook(wb, path)
    raise_errors(problems)
    assert book is not None
    for warning in book.warnings:
        log.warning("%s", warning)
    return book


def _model_for(
    path: Path, record: ModelRecord | None, source: Any, settings: Settings, retrain: bool
) -> tuple[TrainedModel, bool, Staleness | None, LeadTable | None]:
    """The model, whether it was trained now, its freshness, and the closed leads read to
    check it (None when it was trained now: none of them closed after its window)."""
    if retrain:
        return train_model(source.closed(None), settings.leads), True, None, None
    if record is None:
        if stored_models(path):
            raise ModelError(
                f"{model_dir(path).name} holds a lead model but {path.name} records none (was "
                "the workbook replaced by an older copy?); press Score leads (retrain) in "
                "Excel, or run leadbook score-leads BOOK --retrain, to train and record a new one"
            )
        log.info("no lead model recorded yet: training the first one")
        return train_model(source.closed(None), settings.leads), True, None, None
    model = load_model(path, record)
    closed = source.closed(model.kinds)
    fresh = check_fresh(model, closed)
    return model, False, fresh, closed


def _drift(model: TrainedModel, scorer: _Scorer, closed: LeadTable | None) -> Drift:
    """The open leads scored against the training leads' profile, and the leads closed since
    training (those the model never saw) against what it predicts for them."""
    recent = None
    if closed is not None and len(closed):
        new = ~closed.fixed["lead_id"].isin(model.digests.index).to_numpy()
        if new.any():
            frame = closed.model_frame()[new]
            y = closed.fixed["outcome"].to_numpy(dtype=int)[new]
            recent = (model.predict(frame), y)
    return check_drift(model.profile, scorer.frame(), recent)


_KEPT = ["source", "probability", "value_used", "cost", "band", "action", "sale_profit"]
"""What the report and the Log line read of each scored lead."""


class _Scorer:
    """Scores chunks of open leads and keeps the totals the report needs."""

    def __init__(self, model: TrainedModel, inventory: Inventory, settings: Settings):
        self.model, self.inventory, self.rules = model, inventory, settings.leads
        self.parts: list[pd.DataFrame] = []
        self.frames: list[pd.DataFrame] = []

    def score(self, table: LeadTable) -> pd.DataFrame:
        if len(table) == 0:
            return pd.DataFrame(columns=["at_row", *OUTPUT_COLUMNS])
        frame = table.model_frame()
        self.frames.append(frame[self.model.features])
        p = self.model.predict(frame)
        revenue = self.inventory.sources["revenue_per_customer"]
        fixed = table.fixed
        value = fixed["value"].fillna(fixed["source"].map(revenue)).astype(float)
        money = lead_actions(
            pd.DataFrame(
                {"probability": p, "value": value, "cost": fixed["cost"], "resale": fixed["resale"]}
            ),
            self.rules,
        )
        out = pd.DataFrame(
            {
                "at_row": fixed["at_row"],
                "lead_id": fixed["lead_id"],
                "source": fixed["source"],
                "probability": p,
                "band": [str(b) for b in money["band"]],
                "value_used": value,
                "expected_roi": money["expected_roi"],
                "action": [str(a) for a in money["action"]],
                "priority": money["priority"],
                "price": money["price"],
                "factors": top_factors(self.model, frame),
                "cost": fixed["cost"],
                "sale_profit": money["sale_profit"],
            }
        )
        self.parts.append(out[_KEPT])
        return out

    def frame(self) -> pd.DataFrame:
        """The features of every open lead scored (the model's typed view, for drift)."""
        if not self.frames:
            return pd.DataFrame(columns=self.model.features)
        return self.model.typed(pd.concat(self.frames, ignore_index=True))

    def all(self) -> pd.DataFrame:
        return (
            pd.concat(self.parts, ignore_index=True) if self.parts else pd.DataFrame(columns=_KEPT)
        )

    def threshold(self) -> ThresholdChoice:
        a = self.all()
        return profit_threshold(
            a["probability"],
            a["value_used"],
            a["cost"],
            work_cost=self.rules.work_cost,
            settings_threshold=self.rules.roi_threshold,
        )

    def by_source(self) -> pd.DataFrame:
        return self.all()[["source", "probability"]]

    def actions(self) -> pd.DataFrame:
        a = self.all()
        rows = []
        for action in LeadAction:
            part = a[a["action"] == action.value]
            rows.append(
                {
                    "action": action.value,
                    "leads": float(len(part)),
                    "probability": float(part["probability"].mean()) if len(part) else None,
                    "revenue": float((part["probability"] * part["value_used"]).sum()),
                }
            )
        return pd.DataFrame(rows)


# --- Where the leads come from ----------------------------------------------------------------


class _BookLeads:
    """The Leads table on the workbook's Leads tab."""

    def __init__(self, wb: StreamedBook, inventory: Inventory):
        raise_errors(lead_problems(wb, list(inventory.names)))
        found = read_lead_grid(wb)
        assert found is not None
        self.raw, self.locator = found
        self.inventory = inventory
        self.name = f"the Leads table ({len(self.raw)} rows)"
        self.table: LeadTable | None = None

    def parsed(self, kinds: dict[str, str] | None) -> LeadTable:
        table, problems = parse_leads(
            self.raw, self.locator, sources=self.inventory.names, kinds=kinds
        )
        raise_errors(problems)
        self.table = table
        return table

    def closed(self, kinds: dict[str, str] | None) -> LeadTable:
        return self.parsed(kinds).closed()

    def score(self, scorer: _Scorer, progress: Progress | None) -> tuple[pd.DataFrame, None]:
        table = self.parsed(scorer.model.kinds)
        out = scorer.score(table.open())
        if progress:
            progress(len(table), len(table))
        self.open_count = len(out)
        return out, None


class _FileLeads:
    """A CSV or Parquet lead file, read and scored in chunks; scores go to a sibling file."""

    def __init__(self, path: Path, inventory: Inventory, chunk_rows: int):
        self.path, self.inventory, self.chunk_rows = path, inventory, chunk_rows
        self.locator = FileLocator(path.name)
        self.total = lead_file_rows(path)
        self.name = path.name
        self.output = path.with_name(f"{path.stem}.scored{path.suffix.lower()}")
        files.refuse_planted_link(self.output, f"the scores of {path.name}")

    def _chunks(self) -> Iterator[pd.DataFrame]:
        return read_lead_file(self.path, self.chunk_rows)

    def closed(self, kinds: dict[str, str] | None) -> LeadTable:
        parts = [chunk[_is_closed(chunk)] for chunk in self._chunks()]
        raw = pd.concat(parts) if parts else pd.DataFrame()
        table, problems = parse_leads(raw, self.locator, sources=self.inventory.names, kinds=kinds)
        raise_errors(capped(problems, self.path.name))
        self.closed_ids = set(table.fixed["lead_id"])
        return table.closed()

    def score(self, scorer: _Scorer, progress: Progress | None) -> tuple[pd.DataFrame, Path]:
        problems: list[Problem] = []
        seen: set[str] = set(getattr(self, "closed_ids", ()))
        done, writer = 0, _Writer(self.output)
        self.open_count = 0
        try:
            for chunk in self._chunks():
                # Closed rows were checked when the model was trained or checked for freshness.
                table, found = parse_leads(
                    chunk[~_is_closed(chunk)],
                    self.locator,
                    sources=self.inventory.names,
                    kinds=scorer.model.kinds,
                )
                problems += found + _repeated_ids(table, seen, self.locator)
                if not problems:
                    out = scorer.score(table.open())
                    self.open_count += len(out)
                    # Chunks cannot rank the whole file: sort by expected_roi instead.
                    writer.write(out[OUTPUT_COLUMNS].assign(priority=np.nan))
                done += len(chunk)
                if progress:
                    progress(done, max(self.total, done))
                if len(problems) > 1_000:
                    break
            raise_errors(capped(problems, self.path.name))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        return pd.DataFrame(columns=["at_row", *OUTPUT_COLUMNS]), self.output


def _is_closed(chunk: pd.DataFrame) -> np.ndarray:
    """Which raw rows of a lead file have an outcome (Converted filled in)."""
    from leadbook.leads.table import split_columns

    fixed, _ = split_columns(chunk)
    if "outcome" not in fixed:
        return np.zeros(len(chunk), dtype=bool)
    return fixed["outcome"].map(lambda v: not pd.isna(v) and str(v).strip() != "").to_numpy()


def _repeated_ids(table: LeadTable, seen: set[str], locator: FileLocator) -> list[Problem]:
    problems = []
    for row, lead_id in zip(table.fixed["at_row"], table.fixed["lead_id"], strict=True):
        if lead_id in seen:
            problems.append(
                Problem(
                    locator.cell(int(row), "lead_id"),
                    f"lead id {lead_id!r} appears again",
                )
            )
        seen.add(lead_id)
    return problems


_TEXT_OUTPUTS = frozenset({"lead_id", "band", "action", "factors"})


class _Writer:
    """Writes scored chunks to a temporary file, renamed into place when all went well."""

    def __init__(self, target: Path):
        self.target = files.real_path(target)
        files.remove_stale_temporaries(self.target.parent)
        self.tmp = files.temporary_name(self.target)
        self.parquet: Any = None
        self.started = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.target.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            # One schema for every chunk: a chunk whose actions are all blank must not
            # make the column "null" for the whole file.
            schema = pa.schema(
                [(c, pa.string() if c in _TEXT_OUTPUTS else pa.float64()) for c in OUTPUT_COLUMNS]
            )
            table = pa.Table.from_pandas(frame[OUTPUT_COLUMNS], schema=schema, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.tmp, schema)
            self.parquet.write_table(table)
        else:
            text = [c for c in frame.columns if c in _TEXT_OUTPUTS]
            frame = frame.assign(**{c: frame[c].map(inert_text) for c in text})
            frame.to_csv(
                self.tmp, mode="a" if self.started else "w", header=not self.started, index=False
            )
        self.started = True

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if not self.started:
            pd.DataFrame(columns=OUTPUT_COLUMNS).to_csv(self.tmp, index=False)
        files.put_in_place(self.tmp, self.target)

    def abort(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        self.tmp.unlink(missing_ok=True)


# --- The report and the Log line ---------------------------------------------------------------


def _report(
    record: ModelRecord,
    model: TrainedModel,
    settings: Settings,
    fresh: Staleness | None,
    scorer: _Scorer,
    threshold: ThresholdChoice,
    sources: pd.DataFrame,
    source: Any,
) -> LeadReport:
    a = scorer.all()
    sell = a[a["action"] == LeadAction.SELL.value]
    loss = sale_loss_note(a)
    table = sources.reset_index(names="source")
    table["used"] = np.where(table["replaced"], "model", "history")
    where = (
        f"{source.path.name} → {source.output.name}"
        if isinstance(source, _FileLeads)
        else "the Leads table below"
    )
    return LeadReport(
        record=record,
        report=model.report,
        rules=settings.leads,
        closed_since=0 if fresh is None else fresh.new_closed,
        scored_at=now(),
        actions=scorer.actions(),
        bands_open=a["band"].value_counts().to_dict(),
        threshold=threshold,
        sell_quality=float(sell["probability"].mean()) if len(sell) else None,
        sources=table[["source", "history", "predicted", "leads", "used", "reason"]].astype(
            {"leads": float}
        ),
        note=f"Scored {len(a):,} open leads from {where}; held-out figures are of the model "
        f"fitted without the latest closed leads, the scoring model is refitted on all "
        f"{len(model.digests):,}." + (f" {loss[0].upper()}{loss[1:]}." if loss else ""),
    )


def _log_line(record: ModelRecord, trained: bool, scorer: _Scorer, source: Any) -> str:
    counts = scorer.actions().set_index("action")["leads"]
    how = "trained and recorded" if trained else "loaded (hash verified)"
    summary = ", ".join(f"{int(n)} {a}" for a, n in counts.items() if n)
    loss = sale_loss_note(scorer.all())
    return (
        f"scored {int(counts.sum())} open leads from {source.name} with lead model "
        f"{record.model_hash[:12]}… ({record.kind}, {how}): {summary or 'no open leads'}"
        + (f"; {loss}" if loss else "")
    )


def _drift_note(drift: Drift) -> str:
    """The Log line's word on a shift (the report says it in full)."""
    parts = [f"{name} PSI {value:.2f}" for name, value in drift.major[:3]]
    if drift.rate_shift:
        parts.append(f"leads closed since training converted {drift.recent_rate:.1%}")
    return f"; differ from the training leads: {', '.join(parts)}" if parts else ""


def lead_score(book: str | Path, features: Mapping[str, Any]) -> float:
    """The conversion probability of one lead, from the model this workbook records.

    ``features`` maps the model's feature names (``Source`` and each feature column header)
    to the lead's values; a missing feature is blank. Behind ``LB.LEAD_SCORE``.
    """
    record = read_model_record(open_inputs(book))  # streamed: the record's cells, not every tab
    if record is None:
        raise ModelError(
            f"{Path(book).name} records no lead model yet; run Score leads "
            f"(leadbook score-leads {Path(book).name}) first"
        )
    model = load_model(book, record)
    unknown = sorted(set(features) - set(model.features))
    if unknown:
        raise ValueError(
            f"unknown feature(s) {', '.join(map(repr, unknown))}; the model uses: "
            f"{', '.join(model.features)}"
        )
    frame = pd.DataFrame([{name: features.get(name) for name in model.features}])
    return float(model.predict(frame)[0])
