"""When the engine cannot ask: unanswered questions, reassurance and the safety net."""

from __future__ import annotations

import math

import pytest

from symptom_rules import Level
from symptom_rules.conditions import Compare, HasFinding, MappingState
from symptom_rules.lift import OpenState


def level_of(engine, text, **kwargs):
    return engine.triage(text, ask=False, **kwargs).disposition


def test_a_closed_unknown_counts_as_absent_and_an_open_one_stays_unknown():
    state = MappingState({}, {})
    opened = OpenState(state, frozenset({"finding:fever"}))
    assert HasFinding("fever").evaluate(opened) is None
    assert HasFinding("stiff_neck").evaluate(opened) is False
    assert math.isnan(opened.fact("age_years"))  # type: ignore[arg-type]
    assert Compare("age_years", "lt", 0.25).evaluate(opened) is False
    assert Compare("age_years", "ge", 0.25).evaluate(opened) is False


def test_a_sore_throat_is_not_raised_for_warning_signs_it_never_asks_about(engine):
    assert level_of(engine, "I have a sore throat") == Level.SELF_CARE


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("headache", Level.CONSULTATION),
        ("mild headache", Level.SELF_CARE),
        ("headache, no fever", Level.SELF_CARE),
        ("I cut my finger", Level.CONSULTATION),
        ("small cut on my finger", Level.SELF_CARE),
        ("sprained my ankle, I can walk on it", Level.SELF_CARE),
    ],
)
def test_reassuring_words_lower_only_what_unasked_questions_would_add(engine, text, level):
    assert level_of(engine, text) == level


def test_reassurance_never_lowers_a_rule_that_fired(engine):
    assert level_of(engine, "slight chest pain spreading to my left arm").is_emergency
    assert level_of(engine, "breathing was fine this morning but now I can't breathe").is_emergency


def test_chest_pain_with_nothing_else_is_still_an_emergency_when_it_cannot_ask(engine):
    assert level_of(engine, "mild chest pain") == Level.EMERGENCY
    assert level_of(engine, "I have chest pain") == Level.EMERGENCY


def test_an_unknown_infant_age_is_never_lowered_by_reassurance(engine):
    assert level_of(engine, "my baby has a slight fever and is feeding well") == Level.EMERGENCY


def test_a_known_age_over_3_months_lets_a_child_fever_be_seen_the_same_day(engine):
    assert level_of(engine, "my 4 month old has a temperature of 39.2") == Level.CONSULTATION_24
    assert level_of(engine, "my 4 yo has a fever but is playing and drinking fine") == (
        Level.SELF_CARE
    )


def test_the_safety_net_names_the_warning_signs_that_were_not_asked(engine):
    result = engine.triage("burning when I pee", ask=False)
    assert result.disposition == Level.CONSULTATION
    assert "Get help sooner if you notice" in result.safety_net
    assert "fever" in result.safety_net and "kidney" in result.safety_net


def test_low_mood_gives_a_routine_appointment_and_always_the_crisis_line(engine):
    result = engine.triage("I feel depressed", ask=False)
    assert result.disposition == Level.CONSULTATION
    assert "988" in result.safety_net


def test_the_unasked_age_question_has_its_own_cap(engine):
    child = next(p for p in engine.rules.protocols if p.id == "P-CHILDFEVER")
    age = next(q for q in child.questions if q.id == "q_child_age")
    assert age.up_to == Level.EMERGENCY
    assert child.unanswered.up_to == Level.CONSULTATION_24
