"""Storing a lead model beside its workbook and loading it back safely: the skops file with its
metadata, the record the workbook keeps, pruning, and the checks that refuse a missing, altered,
foreign, stale or untrusted model.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import stat
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadbook import files
from leadbook.leads.modelcheck import check_estimator, parse_meta
from leadbook.leads.table import CATEGORICAL, NUMERIC, LeadTable

if TYPE_CHECKING:
    pass

from leadbook.leads.metrics import ClassifierMetrics, HeldOutMetrics
from leadbook.leads.model import (
    GBM,
    LOGISTIC,
    ModelError,
    ModelReport,
    Staleness,
    TrainedModel,
    library_versions,
    staleness,
)

log = logging.getLogger(__name__)


MODEL_FORMAT = 2


"""2: a zip of ``meta.json`` and the estimator in skops' format (1 was a pickle: never loaded)."""


TRUSTED_TYPES = (
    "functools.partial",
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.StratifiedShuffleSplit",
    "sklearn.utils.validation.check_array",
)


"""The types beyond skops' own trusted set that leadbook's two estimators are made of.

A model file naming any other type is refused before anything is built. ``functools.partial``
is safe here because the function it wraps must be trusted too (skops checks every node)."""


MAX_MODEL_BYTES = 512 * 1024**2


"""The most a model file may hold once unzipped; a lead model is a few megabytes."""


# --- Storage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRecord:
    """What the workbook records about its model (the system of record)."""

    model_hash: str
    data_hash: str
    trained: str
    kind: str


def model_dir(book: str | Path) -> Path:
    """The folder next to the workbook that holds its lead model: ``<stem>.leadbook-model``."""
    book = Path(book)
    return book.with_name(f"{book.stem}.leadbook-model")


def _file_for(book: str | Path, model_hash: str) -> Path:
    return model_dir(book) / f"model-{model_hash[:16]}.zip"


def save_model(model: TrainedModel, book: str | Path) -> ModelRecord:
    """Write the model and its manifest next to the workbook; the record to keep in it."""
    from skops.io import dumps

    payload = _zipped(
        {
            "meta.json": json.dumps({"format": MODEL_FORMAT, **_meta(model)}).encode(),
            "estimator.skops": dumps(model.estimator),
        }
    )
    digest = hashlib.sha256(payload).hexdigest()
    folder = model_dir(book)
    folder.mkdir(exist_ok=True)
    target = _file_for(book, digest)
    _atomic_write(target, payload)
    manifest = {
        "format": MODEL_FORMAT,
        "model_sha256": digest,
        "training_data_sha256": model.data_hash,
        "trained": model.trained,
        "model": model.kind,
        "features": model.all_kinds,
        "closed_leads": len(model.digests),
        "versions": model.versions,
        "cv_log_loss": model.report.cv_log_loss,
        "held_out": {k: _metrics_dict(v) for k, v in model.report.held_out.items()},
    }
    _atomic_write(target.with_suffix(".json"), json.dumps(manifest, indent=2).encode())
    log.info("saved lead model %s to %s", digest[:16], target)
    return ModelRecord(digest, model.data_hash, model.trained, model.kind)


def _zipped(members: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _meta(model: TrainedModel) -> dict[str, Any]:
    """Everything but the estimator, as JSON-ready data (NaN stays NaN)."""
    report = model.report
    return {
        "kind": model.kind,
        "kinds": model.kinds,
        "reference": {k: _plain(v) for k, v in model.reference.items()},
        "report": {
            "chosen": report.chosen,
            "cv_log_loss": report.cv_log_loss,
            "held_out": {k: asdict(v) for k, v in report.held_out.items()},
            "bands": report.bands.to_dict(orient="list"),
            "calibration": report.calibration.to_dict(orient="list"),
            "split": report.split,
            "n_train": report.n_train,
            "n_held_out": report.n_held_out,
            "threshold": report.threshold,
        },
        "lead_ids": [str(i) for i in model.digests.index],
        "digests": [int(d) for d in model.digests.to_numpy(dtype=np.uint64)],
        "data_hash": model.data_hash,
        "trained": model.trained,
        "versions": model.versions,
        "profile": model.profile,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value)
    return None if value is None else str(value)


def _model_from(meta: Mapping[str, Any], estimator: Any) -> TrainedModel:
    kinds = dict(meta["kinds"])
    if meta["kind"] not in (GBM, LOGISTIC) or not set(kinds.values()) <= {NUMERIC, CATEGORICAL}:
        raise ValueError("its model or feature kinds are not ones leadbook trains")
    r = meta["report"]
    held_out = {
        name: HeldOutMetrics(
            **{**m, "at_threshold": ClassifierMetrics(**m["at_threshold"])},
        )
        for name, m in r["held_out"].items()
    }
    report = ModelReport(
        chosen=r["chosen"],
        cv_log_loss=dict(r["cv_log_loss"]),
        held_out=held_out,
        bands=pd.DataFrame(r["bands"]),
        calibration=pd.DataFrame(r["calibration"]),
        split=r["split"],
        n_train=int(r["n_train"]),
        n_held_out=int(r["n_held_out"]),
        threshold=float(r["threshold"]),
    )
    digests = pd.Series(
        np.array(meta["digests"], dtype=np.uint64), index=list(meta["lead_ids"]), name="digest"
    )
    return TrainedModel(
        estimator=estimator,
        kind=meta["kind"],
        kinds=kinds,
        reference={k: (np.nan if v is None else v) for k, v in meta["reference"].items()},
        report=report,
        digests=digests,
        data_hash=meta["data_hash"],
        trained=meta["trained"],
        versions=dict(meta["versions"]),
        profile=meta.get("profile"),  # absent from models saved before drift was checked
    )


def _metrics_dict(m: HeldOutMetrics) -> dict[str, Any]:
    out = asdict(m)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


_atomic_write = files.write_bytes


def prune_models(book: str | Path, keep: ModelRecord) -> None:
    """Remove model files other than the recorded one (after the workbook records it)."""
    for path in model_dir(book).glob("model-*"):
        if path.name.startswith(f"model-{keep.model_hash[:16]}.") or path.is_dir():
            continue  # a folder named like a model file is not one leadbook wrote
        try:
            path.unlink()
        except OSError as exc:  # tidying up: the recorded model is written already
            log.warning("could not remove the older lead model file %s (%s)", path, exc)


def stored_models(book: str | Path) -> list[dict[str, Any]]:
    """The manifests of the model files next to the workbook (for error messages)."""
    out = []
    for path in sorted(model_dir(book).glob("model-*.json")):
        with contextlib.suppress(ValueError, OSError):
            out.append(json.loads(path.read_text()))
    return out


def load_model(book: str | Path, record: ModelRecord) -> TrainedModel:
    """The model the workbook records, after checking its file byte for byte.

    Refuses a missing file, a file whose SHA-256 differs from the record (altered), files
    from another training run (stale), a pickled model of an older leadbook (never loaded:
    loading a pickle can run any code), a file that names a type outside skops' trusted set
    and :data:`TRUSTED_TYPES` (refused before anything is built), and a model saved by another
    version of leadbook or scikit-learn. Each error says how to recover.
    """
    path = _file_for(book, record.model_hash)
    recorded = f"{record.model_hash[:12]}… ({record.kind}, trained {record.trained})"
    retrain = "press Score leads (retrain) in Excel, or run leadbook score-leads BOOK --retrain"
    if not path.exists():
        pickled = path.with_suffix(".pkl")
        if pickled.exists():
            raise ModelError(
                f"{pickled.name} in {model_dir(book).name} is a lead model in the old pickle "
                "format, which leadbook no longer loads: loading a pickle can run any code "
                f"that was put in it. {retrain[0].upper()}{retrain[1:]} to save it in the "
                "current format"
            )
        others = [m for m in stored_models(book) if m.get("model_sha256") != record.model_hash]
        if others:
            other = others[-1]
            raise ModelError(
                f"the lead model in {model_dir(book).name} is stale: it is "
                f"{other['model_sha256'][:12]}… (trained {other.get('trained')}), but the "
                f"workbook records {recorded}. Restore the matching model file, or {retrain}"
            )
        raise ModelError(
            f"the lead model file {path.name} is missing from {model_dir(book).name} beside the "
            f"workbook (the workbook "
            f"records {recorded}). Restore it from a backup, or {retrain}; leadbook does not "
            "retrain on its own"
        )
    info = path.stat()
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MODEL_BYTES:
        what = "is not a regular file" if not stat.S_ISREG(info.st_mode) else "is too large"
        raise ModelError(f"{path.name} {what}; leadbook will not read it. {retrain}")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != record.model_hash:
        raise ModelError(
            f"{path.name} has been altered: its SHA-256 is {actual[:12]}…, the workbook "
            f"records {recorded}. leadbook will not load it; restore it, or {retrain}"
        )
    unreadable = f"{path.name} is not a lead model leadbook can load"
    try:
        members = _unzipped(data, ("meta.json", "estimator.skops"))
        meta = parse_meta(members["meta.json"])
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(f"{unreadable} ({exc}); {retrain}") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelError(f"{unreadable}: format {found}, expected {MODEL_FORMAT}; {retrain}")
    if meta.get("versions") != library_versions():
        raise ModelError(
            f"{path.name} was saved by {meta.get('versions')} (format {MODEL_FORMAT}); "
            f"this is {library_versions()} (format {MODEL_FORMAT}). "
            f"{retrain[0].upper()}{retrain[1:]}"
        )
    estimator = _trusted_estimator(members["estimator.skops"], path.name, retrain)
    try:
        model = _model_from(meta, estimator)
        check_estimator(estimator, len(model.all_kinds))
        # One lead with every feature blank, through the whole estimator: a file whose parts
        # do not fit together fails here, with its name, not later in a user's cell.
        probe = pd.DataFrame({name: [None] for name in model.all_kinds})
        (chance,) = model.predict(probe)
        if not 0.0 <= chance <= 1.0:
            raise ValueError(f"it gives a blank lead a chance of {chance}")
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        OverflowError,
        RecursionError,
    ) as exc:
        raise ModelError(f"{unreadable} ({exc}); {retrain}") from None
    return model


def _unzipped(data: bytes, names: Sequence[str]) -> dict[str, bytes]:
    """The named members of a zip, refusing one that would unpack past the size bound."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        missing = [n for n in names if n not in infos]
        if missing:
            raise KeyError(f"it has no {', '.join(missing)}")
        size = sum(infos[n].file_size for n in names)
        if size > MAX_MODEL_BYTES:
            raise ValueError(f"it unpacks to {size:,} bytes, over {MAX_MODEL_BYTES:,}")
        return {n: zf.read(n) for n in names}


def _trusted_estimator(data: bytes, name: str, retrain: str) -> Any:
    """The estimator of a model file, built only if every type it names is trusted."""
    from skops.io import get_untrusted_types, loads

    unreadable = f"{name} is not a lead model leadbook can load"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            size = sum(info.file_size for info in zf.infolist())
        if size > MAX_MODEL_BYTES:
            raise ValueError(f"it unpacks to {size:,} bytes, over {MAX_MODEL_BYTES:,}")
        untrusted = sorted(set(get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ModelError(f"{unreadable} ({exc}); {retrain}") from None
    if untrusted:
        raise ModelError(
            f"{name} names types leadbook does not load ({', '.join(untrusted[:5])}): it was "
            f"not written by leadbook. Nothing in it was run; {retrain}"
        )
    try:
        return loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # a well-formed file with broken contents
        raise ModelError(f"{unreadable} ({exc}); {retrain}") from None


def check_fresh(model: TrainedModel, closed: LeadTable) -> Staleness:
    """Refuse a model whose training leads were edited or removed; count new closed leads.

    A table that holds none of the training leads (a file of this week's leads, say) is a
    different table, not an edited one: it is scored, and nothing is refused.
    """
    missing = [f for f in model.kinds if f not in closed.kinds]
    if missing:
        raise ModelError(
            f"the lead table no longer has the feature column(s) {', '.join(missing)} the "
            "model was trained on; add them back, or retrain"
        )
    found = staleness(model, closed)
    if found.disjoint:
        log.info("the lead table holds none of the model's training leads; scoring only")
        return Staleness((), (), 0, disjoint=True)
    bad = found.changed + found.removed
    if bad:
        listed = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ModelError(
            f"the lead model is stale: {len(found.changed)} of its training leads changed and "
            f"{len(found.removed)} were removed since it was trained ({listed}). Press "
            "Score leads (retrain) in Excel, or run leadbook score-leads BOOK --retrain"
        )
    return found
