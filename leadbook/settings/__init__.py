"""Every band, cap, weight and capacity figure, with the seed chapter's defaults.

Settings are data: one frozen :class:`Settings` object, built from the Settings tab and
written back to it. Each field carries its label, unit, bounds and Excel defined name in
its metadata, so the tab, the reader, the writer and the docs come from one declaration.
A setting is addressed by its key, ``"<section>.<field>"`` (``"policy.max_source_share"``);
a band contributes two keys, ``"<section>.<field>.min"`` and ``".max"``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadbook.contract.tables import MAX_MAGNITUDE, number_text
from leadbook.enums import Choice
from leadbook.errors import Problem, Severity, raise_errors
from leadbook.settings.groups import (
    BoardTargets,
    FileRules,
    ForecastRules,
    HiringRules,
    LeadRules,
    RoiRules,
    WhatIfRules,
)
from leadbook.settings.policy import (
    DOLLARS,
    PERCENT,
    Band,
    Bands,
    Capacity,
    ClassRules,
    DollarBand,
    ObjectiveWeights,
    Policy,
    ScoreWeights,
    setting,
)


@dataclass(frozen=True)
class Settings:
    """All of leadbook's settings, with the seed chapter's defaults.

    Examples
    --------
    >>> s = Settings()
    >>> s.policy.max_source_share, str(s.bands.tier1), s.capacity.leads_per_rep
    (0.4, '60%–70%', 47.0)
    >>> s.get("bands.tier1.min")
    0.6
    >>> s.replace({"policy.max_source_share": 0.35}).policy.max_source_share
    0.35
    """

    policy: Policy = field(default_factory=Policy)
    bands: Bands = field(default_factory=Bands)
    capacity: Capacity = field(default_factory=Capacity)
    score_weights: ScoreWeights = field(default_factory=ScoreWeights)
    objective_weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    classify: ClassRules = field(default_factory=ClassRules)
    roi: RoiRules = field(default_factory=RoiRules)
    forecast: ForecastRules = field(default_factory=ForecastRules)
    hiring: HiringRules = field(default_factory=HiringRules)
    leads: LeadRules = field(default_factory=LeadRules)
    board: BoardTargets = field(default_factory=BoardTargets)
    files: FileRules = field(default_factory=FileRules)
    whatif: WhatIfRules = field(default_factory=WhatIfRules)

    def get(self, key: str) -> Any:
        """The value of the setting ``key`` (``"section.field"`` or ``"...field.min"``)."""
        spec = spec_for(key)
        value = getattr(getattr(self, spec.section), spec.field)
        return getattr(value, spec.part) if spec.part else value

    def replace(self, values: Mapping[str, Any]) -> Settings:
        """A copy with the given settings changed; keys as in :meth:`get`."""
        settings, problems = _apply(self, ((k, v, k) for k, v in values.items()))
        raise_errors(problems)
        return settings


@dataclass(frozen=True)
class SettingSpec:
    """One row of the Settings tab: where the value lives and how it is shown."""

    key: str
    section: str
    field: str
    part: str | None
    label: str
    unit: str
    name: str
    lo: float | None
    hi: float | None
    doc: str
    kind: type

    @property
    def is_percent(self) -> bool:
        return self.unit == PERCENT


def _field_kind(owner: type, f: dataclasses.Field) -> type:
    hint = typing.get_type_hints(owner)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return args[0]
    return hint


def _specs() -> Iterator[SettingSpec]:
    for section in dataclasses.fields(Settings):
        owner = section.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(owner):
            meta, kind = f.metadata, _field_kind(owner, f)
            common = dict(
                section=section.name,
                field=f.name,
                unit=meta["unit"],
                lo=meta["lo"],
                hi=meta["hi"],
                doc=meta["doc"],
            )
            key = f"{section.name}.{f.name}"
            if kind in (Band, DollarBand):
                if kind is Band:
                    common |= {"lo": 0.0, "hi": 1.0}
                for part, word in (("min", "Min"), ("max", "Max")):
                    yield SettingSpec(
                        key=f"{key}.{part}",
                        part=part,
                        kind=float,
                        label=f"{meta['label']}, {part}",
                        name=f"{meta['name']}{word}",
                        **(common | {"doc": _band_doc(kind, part, meta["doc"])}),
                    )
            else:
                yield SettingSpec(
                    key=key, part=None, kind=kind, label=meta["label"], name=meta["name"], **common
                )


def _band_doc(kind: type, part: str, what: str) -> str:
    """The note of one end of a band: ``what`` names the sources or the spend it bounds."""
    most = "Least" if part == "min" else "Most"
    if kind is Band:
        return f"{most} share of the budget for {what} together; Rebalance keeps to the band."
    return f"{most} {what[:1].lower()}{what[1:]}."


SETTING_SPECS: tuple[SettingSpec, ...] = tuple(_specs())


_BY_KEY = {s.key: s for s in SETTING_SPECS} | {s.name: s for s in SETTING_SPECS}


_BY_FOLDED = {k.casefold(): v for k, v in _BY_KEY.items()}


"""A setting by its key (``policy.max_source_share``) or its defined name (``MaxSourceShare``)."""


SECTION_TITLES = {
    "policy": "Allocation policy",
    "bands": "Budget bands (share of the budget)",
    "capacity": "Sales, operations and support capacity",
    "score_weights": "Source score weights",
    "objective_weights": "Weighted objective",
    "classify": "Classification thresholds",
    "roi": "Multi-horizon ROI",
    "forecast": "Forecast and scenarios",
    "hiring": "Hiring plan",
    "leads": "Lead qualification and pricing",
    "board": "Board targets",
    "files": "Files",
    "whatif": "What-if budget curve",
}


"""The Settings tab's heading over each section's rows."""


def section_title(section: str) -> str:
    """The heading of a section of settings (``"policy"`` → ``"Allocation policy"``)."""
    return SECTION_TITLES.get(section, section.replace("_", " ").capitalize())


def spec_for(key: str) -> SettingSpec:
    """The spec of setting ``key`` (or defined name); an unknown one is an error that suggests
    the nearest.

    Examples
    --------
    >>> spec_for("MaxSourceShare").key
    'policy.max_source_share'
    >>> spec_for("MaxSorceShare")
    Traceback (most recent call last):
    ...
    KeyError: "unknown setting 'MaxSorceShare' — did you mean 'MaxSourceShare'?"
    """
    spec = _lookup(key)
    if spec is None:
        raise KeyError(_unknown_key_message(key))
    return spec


def _lookup(key: str) -> SettingSpec | None:
    """A setting by key or defined name; names, as Excel's, ignore case."""
    return _BY_KEY.get(key) or _BY_FOLDED.get(key.casefold())


def _unknown_key_message(key: str) -> str:
    near = difflib.get_close_matches(key, _BY_KEY, n=1)
    hint = f" — did you mean {near[0]!r}?" if near else ""
    return f"unknown setting {key!r}{hint}"


def setting_rows(settings: Settings) -> list[tuple[SettingSpec, Any]]:
    """Every setting with its value, in Settings-tab order."""
    return [(spec, settings.get(spec.key)) for spec in SETTING_SPECS]


def settings_from_rows(rows: Iterable[Sequence[Any]]) -> tuple[Settings, list[Problem]]:
    """Settings from ``(key, value, where[, key_where])`` rows, and every problem found.

    A key is a setting's key or its defined name; ``where`` is the value's cell and
    ``key_where`` the key's (by default column A of the value's row). Blank values of
    optional settings (the budget) mean "not set"; a missing key keeps its default and is
    reported as a warning; unknown keys and bad values are errors.

    Examples
    --------
    >>> s, problems = settings_from_rows([("policy.max_source_share", 0.35, "Settings!C5"),
    ...                                   ("policy.max_share", 0.3, "Settings!C6")])
    >>> s.policy.max_source_share
    0.35
    >>> [str(p) for p in problems if p.severity == "error"]
    ["Settings!A6: unknown setting 'policy.max_share' — did you mean 'policy.max_source_share'?"]
    """
    rows = list(rows)
    settings, problems = _apply(Settings(), rows)
    given = (str(row[0]).strip() for row in rows)
    seen = {spec.key for spec in map(_lookup, given) if spec is not None}
    for spec in SETTING_SPECS:
        if spec.key not in seen:
            problems.append(
                Problem(
                    "Settings",
                    f"{spec.name} ({spec.label}) is missing; using the "
                    f"default {_show(spec, Settings().get(spec.key))}",
                    Severity.WARNING,
                )
            )
    return settings, problems


def settings_with(base: Settings, rows: Iterable[Sequence[Any]]) -> tuple[Settings, list[Problem]]:
    """``base`` with ``(key, value, where[, key_where])`` rows applied, checked exactly as the
    Settings tab's rows are (a What-if scenario's overrides), and every problem found.

    Examples
    --------
    >>> s, problems = settings_with(Settings(), [("MaxSourceShare", 0.35, "What-if!C6")])
    >>> s.policy.max_source_share, problems
    (0.35, [])
    >>> _, problems = settings_with(Settings(), [("MaxSourceShare", 3, "What-if!C6")])
    >>> str(problems[0])
    'What-if!C6: MaxSourceShare: must be ≤ 100.0%, got 300.0% — did you mean 3 %? Type 3% or 0.03'
    """
    return _apply(base, rows)


def _apply(base: Settings, rows: Iterable[Sequence[Any]]) -> tuple[Settings, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    places: dict[str, str] = {}
    for row in rows:
        given, raw, where = str(row[0]).strip(), row[1], row[2]
        if _lookup(given) is None:
            key_where = row[3] if len(row) > 3 else _key_cell(where)
            problems.append(Problem(key_where, _unknown_key_message(given)))
            continue
        key = _lookup(given).key  # type: ignore[union-attr]
        if key in places:
            problems.append(
                Problem(
                    where,
                    f"{given}: the setting appears twice (also at {places[key]}); delete one — "
                    "the defined name points at only one of them",
                )
            )
            continue
        places[key] = where
        spec = _BY_KEY[key]
        try:
            values[key] = _parse_value(spec, raw)
        except ValueError as exc:
            problems.append(Problem(where, f"{given}: {exc}"))
            continue
        if isinstance(raw, str) and raw.strip() and not issubclass(spec.kind, Choice):
            problems.append(
                Problem(
                    where,
                    f"{given} is typed as text ({raw!r}): leadbook reads "
                    f"{_show(spec, values[key])}, but Excel's formulas using ={spec.name} do "
                    "not — type it as a number",
                    Severity.WARNING,
                )
            )
    values, band_problems = _checked_bands(base, values, places)
    values, weight_problems = _checked_weights(base, values, places)
    problems += band_problems + weight_problems
    try:
        return _rebuild(base, values), problems
    except ValueError as exc:
        problems.append(Problem("Settings", str(exc)))
        return base, problems


def _checked_bands(
    base: Settings, values: dict[str, Any], places: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Drop the parts of bands whose ends are out of order, reporting each at its cell."""
    problems = []
    for spec in SETTING_SPECS:
        if spec.part != "min":
            continue
        stem = spec.key[: -len(".min")]
        lo = values.get(f"{stem}.min", base.get(f"{stem}.min"))
        hi = values.get(f"{stem}.max", base.get(f"{stem}.max"))
        if lo > hi:
            where = places.get(f"{stem}.min") or places.get(f"{stem}.max") or "Settings"
            problems.append(
                Problem(
                    where,
                    f"{spec.name}: the minimum {_show(spec, lo)} is above the maximum "
                    f"{_show(spec, hi)} ({spec.name[:-3]}Max)",
                )
            )
            values = {k: v for k, v in values.items() if not k.startswith(f"{stem}.")}
    return values, problems


def _checked_weights(
    base: Settings, values: dict[str, Any], places: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Drop a set of weights that does not add up to 100 %, reporting it at its cells."""
    problems = []
    for section, label in (("score_weights", "score"), ("objective_weights", "objective")):
        specs = [spec for spec in SETTING_SPECS if spec.section == section]
        total = sum(values.get(spec.key, base.get(spec.key)) for spec in specs)
        if abs(total - 1.0) <= 1e-9:
            continue
        cells = [places[spec.key] for spec in specs if spec.key in places]
        names = ", ".join(spec.name for spec in specs)
        problems.append(
            Problem(
                cells[0] if cells else "Settings",
                f"the {label} weights ({names}"
                + (f", at {', '.join(cells)}" if cells else "")
                + f") must add up to 100 %, got {total:.1%}",
            )
        )
        values = {k: v for k, v in values.items() if _BY_KEY[k].section != section}
    return values, problems


def _key_cell(where: str) -> str:
    """The cell of a row's key, given the cell of its value (keys sit in column A)."""
    if "!" not in where:
        return where
    sheet, cell = where.split("!", 1)
    row = "".join(ch for ch in cell if ch.isdigit())
    return f"{sheet}!A{row}" if row else where


def _parse_value(spec: SettingSpec, raw: object) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if spec.key == "policy.budget":
            return None
        raise ValueError("is empty")
    if issubclass(spec.kind, Choice):
        return spec.kind.parse(raw)
    value = _number(raw, spec)
    if spec.kind is int:
        if value != int(value):
            raise ValueError(f"must be a whole number, got {raw!r}")
        value = int(value)
    if spec.lo is not None and value < spec.lo:
        raise ValueError(f"must be ≥ {_show(spec, spec.lo)}, got {_show(spec, value)}")
    if spec.hi is not None and value > spec.hi:
        hint = _percent_hint(spec, value)
        raise ValueError(f"must be ≤ {_show(spec, spec.hi)}, got {_show(spec, value)}{hint}")
    return value


def _percent_hint(spec: SettingSpec, value: float) -> str:
    """' — did you mean 25 %?' when ``value`` reads as a percentage typed as a whole number.

    Examples
    --------
    >>> _percent_hint(spec_for("WeeklyIncrease"), 25)
    ' — did you mean 25 %? Type 25% or 0.25'
    >>> _percent_hint(spec_for("WeeklyIncrease"), 2500)
    ''
    """
    if not spec.is_percent or not (spec.lo or 0) <= value / 100 <= (spec.hi or math.inf):
        return ""
    return f" — did you mean {value:g} %? Type {value:g}% or {value / 100:g}"


def _number(raw: object, spec: SettingSpec) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"must be a number, got {raw!r}")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = number_text(str(raw))
        scale = 0.01 if text.endswith("%") else 1.0
        try:
            value = float(text.rstrip("%")) * scale
        except ValueError:
            raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {raw}")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"must be at most {MAX_MAGNITUDE:,.0f} in size, got {raw!r}")
    return value


def _show(spec: SettingSpec, value: Any) -> str:
    if value is None:
        return "blank"
    if spec.is_percent:
        return f"{value:.1%}"
    if spec.unit == DOLLARS:
        return f"${value:,.0f}"
    return str(value)


def _rebuild(base: Settings, values: Mapping[str, Any]) -> Settings:
    sections: dict[str, dict[str, Any]] = {}
    parts: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in values.items():
        spec = _BY_KEY[key]
        changes = sections.setdefault(spec.section, {})
        if spec.part:
            # both ends of a band may change together: build the band once, from both
            parts.setdefault((spec.section, spec.field), {})[spec.part] = value
        else:
            changes[spec.field] = value
    for (section, name), ends in parts.items():
        current = getattr(getattr(base, section), name)
        sections[section][name] = type(current)(**{**dataclasses.asdict(current), **ends})
    replaced = {
        name: dataclasses.replace(getattr(base, name), **changes)
        for name, changes in sections.items()
    }
    settings = dataclasses.replace(base, **replaced)
    _check_weights(settings)
    _check_lead_bands(settings)
    return settings


def _check_weights(settings: Settings) -> None:
    for section, label in (("score_weights", "score"), ("objective_weights", "objective")):
        weights = dataclasses.asdict(getattr(settings, section))
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"the {label} weights must add up to 100 %, got {total:.1%}")


def _check_lead_bands(settings: Settings) -> None:
    high, medium = settings.leads.band_high, settings.leads.band_medium
    if medium > high:
        raise ValueError(
            f"the Medium lead band starts at {medium:.1%}, above the High band's {high:.1%}"
        )


__all__ = [
    "DOLLARS",
    "PERCENT",
    "SECTION_TITLES",
    "Band",
    "Bands",
    "BoardTargets",
    "Capacity",
    "ClassRules",
    "DollarBand",
    "FileRules",
    "ForecastRules",
    "HiringRules",
    "LeadRules",
    "ObjectiveWeights",
    "Policy",
    "RoiRules",
    "ScoreWeights",
    "SettingSpec",
    "Settings",
    "WhatIfRules",
    "section_title",
    "setting",
    "setting_rows",
    "settings_from_rows",
    "settings_with",
    "spec_for",
]
