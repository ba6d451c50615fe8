"""The strategic maturity assessment: four stages, a scored checklist, the gaps and the roadmap.

From the chapter "Becoming a Lead Strategist": every team starts at **Stage 1, Reactive lead
buying**; Stages 2–4 (Systematic lead management, Strategic demand generation, Market-leading
revenue engine) are each a checklist of the chapter's characteristics and focus areas
(capabilities, advantages). Each item is answered yes (1 point), partly (½) or no (0).

- A stage is **reached** when its checklist scores at least the threshold (Settings
  ``board.maturity_threshold``, 75 %) and every earlier stage is reached.
- The **gaps** are the items of the next stage not answered yes.
- The **roadmap** places each gap in the chapter's transformation phase that builds it:
  Foundation Building (months 1–3), Capability Development (4–9), Strategic Implementation
  (10–18), Continuous Evolution (ongoing).

Where the workbook itself shows an item (forecasts on the Forecast tab, vendor scorecards on
Sources, a hiring plan, quarterly board packs), :func:`evidence_from` answers it from the data
and says why; a user's own answer always wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leadbook.enums import Answer

EPS = 1e-9

POINTS = {Answer.YES: 1.0, Answer.PARTLY: 0.5, Answer.NO: 0.0}


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    summary: str


STAGES: tuple[Stage, ...] = (
    Stage(
        1,
        "Reactive lead buying",
        "Transactional buying measured by volume and immediate conversion; quarterly or "
        "monthly planning; constant firefighting. Every team starts here.",
    ),
    Stage(
        2,
        "Systematic lead management",
        "Established vendor management, consistent quality monitoring, regular reviews and "
        "basic forecasting.",
    ),
    Stage(
        3,
        "Strategic demand generation",
        "Lead generation integrated with revenue strategy; annual planning with quarterly "
        "adjustments; strategic vendor partnerships; predictive analytics.",
    ),
    Stage(
        4,
        "Market-leading revenue engine",
        "Demand generation drives competitive advantage; continuous planning with scenario "
        "modelling; proprietary channels and innovation.",
    ),
)


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    months: str


PHASES: tuple[Phase, ...] = (
    Phase(1, "Foundation Building", "months 1–3"),
    Phase(2, "Capability Development", "months 4–9"),
    Phase(3, "Strategic Implementation", "months 10–18"),
    Phase(4, "Continuous Evolution", "ongoing"),
)


@dataclass(frozen=True)
class Item:
    """A checklist item: the chapter's words, its stage, and the roadmap phase that builds it."""

    key: str
    stage: int
    kind: str
    text: str
    phase: int
    builds: str


def _items(stage: int, kinds: tuple[str, str], rows: tuple[tuple[str, int, str], ...]) -> tuple:
    return tuple(
        Item(f"S{stage}.{i + 1}", stage, kinds[i // 5], text, phase, builds)
        for i, (text, phase, builds) in enumerate(rows)
    )


_P1_VENDORS = "Implementing systematic vendor management"
_P1_REPORTING = "Building comprehensive reporting capabilities"
_P1_QUALITY = "Establishing quality monitoring frameworks"
_P2_ANALYTICS = "Advanced analytics and predictive modeling"
_P2_PLANNING = "Strategic planning processes and frameworks"
_P3_PARTNERS = "Strategic vendor partnerships"
_P3_POSITION = "Competitive positioning"
_P3_INNOVATION = "Innovation initiatives"
_P4_REVIEWS = "Regular strategy reviews and adjustments"

CHECKLIST: tuple[Item, ...] = (
    *_items(
        2,
        ("characteristic", "focus area"),
        (
            ("Established processes for vendor management", 1, _P1_VENDORS),
            ("Consistent quality monitoring and reporting", 1, _P1_QUALITY),
            (
                "Defined roles and responsibilities",
                1,
                "Creating cross-functional communication processes",
            ),
            ("Regular performance reviews and optimization", 1, _P1_REPORTING),
            ("Basic forecasting capabilities", 1, "Developing basic forecasting capabilities"),
            ("Vendor scorecards and SLAs", 1, _P1_VENDORS),
            ("Quality consistency frameworks", 1, _P1_QUALITY),
            ("Cost optimization processes", 1, _P1_REPORTING),
            ("Basic attribution modeling", 1, _P1_REPORTING),
            ("Compliance and risk management", 1, _P1_VENDORS),
        ),
    ),
    *_items(
        3,
        ("characteristic", "capability"),
        (
            ("Lead generation is integrated with broader revenue strategy", 2, _P2_PLANNING),
            ("Success is measured by pipeline contribution and revenue impact", 2, _P2_ANALYTICS),
            ("Vendor relationships are strategic partnerships", 3, _P3_PARTNERS),
            ("Planning happens annually with quarterly adjustments", 2, _P2_PLANNING),
            (
                "Team anticipates market changes and business needs",
                2,
                "Market intelligence capabilities",
            ),
            ("Long-term capacity planning", 3, "Long-term capacity planning"),
            ("Market opportunity assessment", 3, "Market expansion strategies"),
            (
                "Competitive intelligence integration",
                2,
                "Scenario planning and competitive analysis",
            ),
            ("Cross-functional collaboration", 2, "Cross-functional collaboration systems"),
            ("Predictive analytics and modeling", 2, _P2_ANALYTICS),
        ),
    ),
    *_items(
        4,
        ("characteristic", "advantage"),
        (
            ("Demand generation drives competitive advantage", 3, _P3_POSITION),
            (
                "Success is measured by market position and customer lifetime value",
                4,
                _P4_REVIEWS,
            ),
            ("Ecosystem of strategic partnerships creates mutual value", 3, _P3_PARTNERS),
            ("Planning is continuous with scenario modeling", 4, _P4_REVIEWS),
            (
                "Team drives innovation in lead generation approaches",
                4,
                "Innovation pipeline management",
            ),
            ("Proprietary demand generation channels", 3, _P3_INNOVATION),
            (
                "Industry-leading conversion optimization",
                4,
                "Emerging technology evaluation and adoption",
            ),
            ("Strategic market positioning", 3, _P3_POSITION),
            ("Innovation in customer acquisition", 3, _P3_INNOVATION),
            ("Sustainable growth rate advantages", 4, "Market opportunity assessment"),
        ),
    ),
)
ITEMS = {item.key: item for item in CHECKLIST}


# --- What the workbook shows -----------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """An item answered from the workbook's data, and why."""

    answer: Answer
    text: str


@dataclass(frozen=True)
class WorkbookFacts:
    """What the workbook shows about how the team works; None where it cannot tell.

    ``forecast_rows``/``hiring_rows``/``scored_leads`` count filled rows on the Forecast,
    Hiring and Leads tabs; ``forecast_horizon`` is how many months past History the
    forecasts reach; ``board_quarters`` the quarters in Board history.
    """

    history_months: int = 0
    third_party_sources: int = 0
    third_party_with_health: int = 0
    noncompliant_in_use: tuple[str, ...] = ()
    forecast_rows: int | None = None
    forecast_horizon: int | None = None
    hiring_rows: int | None = None
    scored_leads: int | None = None
    board_quarters: int = 0


def evidence_from(facts: WorkbookFacts) -> dict[str, Evidence]:
    """Checklist answers the workbook's data gives, keyed by item.

    Examples
    --------
    >>> found = evidence_from(WorkbookFacts(third_party_sources=3, third_party_with_health=3,
    ...                                     forecast_rows=0))
    >>> found["S2.6"].answer, found["S2.5"].text
    (<Answer.YES: 'yes'>, 'the Forecast tab holds no forecasts')
    """
    out: dict[str, Evidence] = {}
    if facts.third_party_sources:
        share = facts.third_party_with_health / facts.third_party_sources
        out["S2.6"] = Evidence(
            Answer.YES if share >= 1 else Answer.PARTLY if share > 0 else Answer.NO,
            f"vendor health scored for {facts.third_party_with_health} of "
            f"{facts.third_party_sources} third-party sources on Sources",
        )
    out["S2.10"] = (
        Evidence(
            Answer.PARTLY,
            "compliance is tracked on Sources, but "
            f"{', '.join(facts.noncompliant_in_use)} is non-compliant and still in use",
        )
        if facts.noncompliant_in_use
        else Evidence(
            Answer.YES,
            "compliance is tracked for every source and risk-classed on Tiers; "
            "no non-compliant source is in use",
        )
    )
    if facts.forecast_rows is not None:
        out["S2.5"] = (
            Evidence(Answer.YES, f"the Forecast tab holds {facts.forecast_rows} forecast rows")
            if facts.forecast_rows
            else Evidence(Answer.NO, "the Forecast tab holds no forecasts")
        )
    out["S2.4"] = _reviews(facts.board_quarters)
    out["S3.4"] = _planning(facts)
    if facts.hiring_rows is not None:
        out["S3.6"] = (
            Evidence(Answer.YES, f"the Hiring tab holds a plan ({facts.hiring_rows} rows)")
            if facts.hiring_rows
            else Evidence(Answer.NO, "the Hiring tab holds no hiring plan")
        )
    if facts.forecast_rows is not None or facts.scored_leads is not None:
        out["S3.10"] = _predictive(facts)
    return out


def _reviews(quarters: int) -> Evidence:
    if quarters >= 2:
        return Evidence(Answer.YES, f"Board history keeps {quarters} quarterly reviews")
    if quarters == 1:
        return Evidence(Answer.PARTLY, "Board history keeps one quarterly review so far")
    return Evidence(Answer.NO, "no board pack has been exported yet (Board history is empty)")


def _planning(facts: WorkbookFacts) -> Evidence:
    annual = facts.forecast_horizon is not None and facts.forecast_horizon >= 12
    quarterly = facts.board_quarters >= 2
    horizon = (
        f"forecasts reach {facts.forecast_horizon} months ahead"
        if facts.forecast_horizon
        else "no forecast reaches a year ahead"
    )
    reviews = f"{facts.board_quarters} quarterly review(s) in Board history"
    answer = (
        Answer.YES if annual and quarterly else Answer.PARTLY if annual or quarterly else Answer.NO
    )
    return Evidence(answer, f"{horizon}; {reviews}; History covers {facts.history_months} months")


def _predictive(facts: WorkbookFacts) -> Evidence:
    forecasts = bool(facts.forecast_rows)
    scores = bool(facts.scored_leads)
    parts = [
        "model forecasts on the Forecast tab" if forecasts else "no forecasts",
        f"{facts.scored_leads} scored leads on the Leads tab" if scores else "no lead scores",
    ]
    answer = (
        Answer.YES if forecasts and scores else Answer.PARTLY if forecasts or scores else Answer.NO
    )
    return Evidence(answer, "; ".join(parts))


# --- Assessment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """The answer an item counts with (None: unanswered), and whose answer it is."""

    answer: Answer | None
    origin: str

    @property
    def points(self) -> float:
        return 0.0 if self.answer is None else POINTS[self.answer]


@dataclass(frozen=True)
class StageScore:
    stage: Stage
    points: float
    out_of: int
    reached: bool

    @property
    def share(self) -> float | None:
        return self.points / self.out_of if self.out_of else None


@dataclass(frozen=True)
class RoadmapStep:
    """A gap placed in the roadmap phase that builds it."""

    phase: Phase
    item: Item
    counted: Counted


@dataclass(frozen=True)
class Assessment:
    """The stage reached, every stage's score, each item's counted answer, the roadmap."""

    stages: tuple[StageScore, ...]
    counted: Mapping[str, Counted]
    threshold: float

    @property
    def reached(self) -> Stage:
        return max((s.stage for s in self.stages if s.reached), key=lambda st: st.number)

    @property
    def next_stage(self) -> Stage | None:
        return next((s.stage for s in self.stages if not s.reached), None)

    @property
    def gaps(self) -> tuple[Item, ...]:
        """Items of the next stage not answered yes."""
        nxt = self.next_stage
        if nxt is None:
            return ()
        return tuple(
            item
            for item in CHECKLIST
            if item.stage == nxt.number and self.counted[item.key].answer is not Answer.YES
        )

    @property
    def roadmap(self) -> tuple[RoadmapStep, ...]:
        """The gaps in roadmap order: by phase, then checklist order."""
        steps = [RoadmapStep(PHASES[g.phase - 1], g, self.counted[g.key]) for g in self.gaps]
        return tuple(sorted(steps, key=lambda s: s.phase.number))


def counted_answers(
    answers: Mapping[str, Answer | None], evidence: Mapping[str, Evidence]
) -> dict[str, Counted]:
    """Each item's counted answer: the user's if given, else the workbook's, else none.

    Examples
    --------
    >>> found = {"S2.5": Evidence(Answer.NO, "the Forecast tab holds no forecasts")}
    >>> counted = counted_answers({"S2.5": Answer.YES}, found)
    >>> counted["S2.5"].origin, counted["S2.6"].origin
    ('your answer', 'unanswered')
    """
    out = {}
    for item in CHECKLIST:
        given = answers.get(item.key)
        if given is not None:
            out[item.key] = Counted(given, "your answer")
        elif item.key in evidence:
            out[item.key] = Counted(evidence[item.key].answer, "from the workbook")
        else:
            out[item.key] = Counted(None, "unanswered")
    return out


def assess(
    answers: Mapping[str, Answer | None],
    evidence: Mapping[str, Evidence] | None = None,
    threshold: float = 0.75,
) -> Assessment:
    """Score the checklist and find the stage reached.

    Examples
    --------
    >>> yes = {item.key: Answer.YES for item in CHECKLIST if item.stage == 2}
    >>> a = assess(yes)
    >>> a.reached.name, a.next_stage.name, len(a.gaps)
    ('Systematic lead management', 'Strategic demand generation', 10)
    >>> a.roadmap[0].phase.name
    'Capability Development'
    >>> assess({}).reached.name
    'Reactive lead buying'
    """
    counted = counted_answers(answers, evidence or {})
    scores = [StageScore(STAGES[0], 0.0, 0, True)]
    for stage in STAGES[1:]:
        items = [i for i in CHECKLIST if i.stage == stage.number]
        points = sum(counted[i.key].points for i in items)
        reached = scores[-1].reached and points >= threshold * len(items) - EPS
        scores.append(StageScore(stage, points, len(items), reached))
    return Assessment(tuple(scores), counted, threshold)
