"""The maturity assessment: stage boundaries, precedence of answers, evidence, the roadmap."""

from __future__ import annotations

import pytest

from leadbook.board.maturity import (
    CHECKLIST,
    ITEMS,
    PHASES,
    STAGES,
    Evidence,
    WorkbookFacts,
    assess,
    evidence_from,
)
from leadbook.enums import Answer


def stage_items(stage: int) -> list[str]:
    return [i.key for i in CHECKLIST if i.stage == stage]


def answers(stage: int, yes: int = 0, partly: int = 0) -> dict[str, Answer]:
    """The first ``yes`` items of a stage answered yes, the next ``partly`` partly, rest no."""
    keys = stage_items(stage)
    out = {k: Answer.NO for k in keys}
    out.update({k: Answer.YES for k in keys[:yes]})
    out.update({k: Answer.PARTLY for k in keys[yes : yes + partly]})
    return out


class TestChecklist:
    def test_ten_items_for_each_stage_after_the_first(self):
        assert [len(stage_items(n)) for n in (1, 2, 3, 4)] == [0, 10, 10, 10]
        assert [s.name for s in STAGES] == [
            "Reactive lead buying",
            "Systematic lead management",
            "Strategic demand generation",
            "Market-leading revenue engine",
        ]

    def test_every_item_has_a_roadmap_phase(self):
        assert {i.phase for i in CHECKLIST} == {1, 2, 3, 4}
        assert [(p.name, p.months) for p in PHASES] == [
            ("Foundation Building", "months 1–3"),
            ("Capability Development", "months 4–9"),
            ("Strategic Implementation", "months 10–18"),
            ("Continuous Evolution", "ongoing"),
        ]
        assert ITEMS["S2.5"].text == "Basic forecasting capabilities"
        assert ITEMS["S2.5"].phase == 1


class TestAssess:
    def test_no_answers_is_stage_one(self):
        a = assess({})
        assert a.reached.number == 1
        assert a.next_stage.number == 2
        assert len(a.gaps) == 10

    @pytest.mark.parametrize(
        "yes, partly, reached",
        [
            (8, 0, 2),
            (7, 1, 2),  # 7.5 of 10: exactly the 75 % threshold
            (6, 3, 2),  # 7.5 again, with halves
            (7, 0, 1),  # 7.0: short
            (6, 2, 1),  # 7.0
        ],
    )
    def test_threshold_boundary(self, yes, partly, reached):
        a = assess(answers(2, yes, partly))
        assert a.reached.number == reached
        assert a.stages[1].points == yes + partly / 2

    def test_threshold_is_a_parameter(self):
        assert assess(answers(2, 5), threshold=0.5).reached.number == 2
        assert assess(answers(2, 4, 1), threshold=0.5).reached.number == 1

    def test_a_stage_needs_every_earlier_stage(self):
        later = answers(3, 10) | answers(4, 10)
        assert assess(later).reached.number == 1
        assert assess(later | answers(2, 8)).reached.number == 4

    def test_gaps_are_the_next_stages_items_not_yes(self):
        a = assess(answers(2, 10) | answers(3, 6, 2))
        assert a.reached.number == 2
        assert [g.key for g in a.gaps] == stage_items(3)[6:]
        assert all(g.stage == 3 for g in a.gaps)

    def test_roadmap_is_in_phase_order(self):
        a = assess(answers(2, 10))
        phases = [s.phase.number for s in a.roadmap]
        assert phases == sorted(phases)
        # Stage 3: partnerships, capacity planning and market opportunity are Phase 3; the
        # other seven (planning, analytics, intelligence, collaboration) Phase 2.
        assert phases.count(2) == 7 and phases.count(3) == 3

    def test_every_stage_reached_leaves_no_gaps(self):
        a = assess(answers(2, 10) | answers(3, 10) | answers(4, 10))
        assert a.reached.number == 4
        assert a.next_stage is None
        assert a.gaps == () and a.roadmap == ()


class TestPrecedence:
    def test_the_users_answer_wins_over_the_workbook(self):
        evidence = {"S2.5": Evidence(Answer.NO, "the Forecast tab holds no forecasts")}
        a = assess({"S2.5": Answer.YES}, evidence)
        assert a.counted["S2.5"].answer is Answer.YES
        assert a.counted["S2.5"].origin == "your answer"

    def test_the_workbook_answers_what_the_user_left_blank(self):
        evidence = {"S2.6": Evidence(Answer.YES, "scored")}
        a = assess({"S2.6": None}, evidence)
        assert a.counted["S2.6"].answer is Answer.YES
        assert a.counted["S2.6"].origin == "from the workbook"
        assert a.stages[1].points == 1.0

    def test_unanswered_counts_nothing(self):
        a = assess({})
        assert a.counted["S2.1"].answer is None
        assert a.counted["S2.1"].points == 0.0


class TestEvidence:
    def test_what_the_workbook_shows(self):
        facts = WorkbookFacts(
            history_months=24,
            third_party_sources=4,
            third_party_with_health=4,
            forecast_rows=96,
            forecast_horizon=24,
            hiring_rows=12,
            scored_leads=0,
            board_quarters=3,
        )
        found = evidence_from(facts)
        assert {k: e.answer for k, e in found.items()} == {
            "S2.4": Answer.YES,  # three quarterly reviews
            "S2.5": Answer.YES,  # forecasts
            "S2.6": Answer.YES,  # vendor scorecards
            "S2.10": Answer.YES,  # compliance tracked, nothing non-compliant in use
            "S3.4": Answer.YES,  # 24-month forecasts and quarterly reviews
            "S3.6": Answer.YES,  # a hiring plan
            "S3.10": Answer.PARTLY,  # forecasts but no lead scores
        }
        assert found["S3.4"].text == (
            "forecasts reach 24 months ahead; 3 quarterly review(s) in Board history; "
            "History covers 24 months"
        )

    def test_empty_tabs_say_no(self):
        found = evidence_from(
            WorkbookFacts(
                forecast_rows=0,
                hiring_rows=0,
                scored_leads=0,
                noncompliant_in_use=("Regional network",),
            )
        )
        assert found["S2.5"] == Evidence(Answer.NO, "the Forecast tab holds no forecasts")
        assert found["S3.6"].answer is Answer.NO
        assert found["S3.10"].answer is Answer.NO
        assert found["S2.4"].answer is Answer.NO
        assert found["S2.10"].answer is Answer.PARTLY
        assert "Regional network is non-compliant and still in use" in found["S2.10"].text
        assert "S2.6" not in found  # no third-party source: nothing to score

    def test_tabs_the_workbook_lacks_give_no_evidence(self):
        found = evidence_from(WorkbookFacts())
        assert "S2.5" not in found and "S3.6" not in found and "S3.10" not in found
