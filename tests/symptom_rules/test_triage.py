"""Triage asks the most decisive question, then gives a level with its reasons."""

from __future__ import annotations

import pytest

from symptom_rules import Level, triage
from symptom_rules.answers import normalise_answer


def test_a_chest_pain_message_asks_about_spreading_pain_first(engine):
    result = triage("I have chest pain", engine=engine)
    assert result.disposition is None
    assert result.next_question is not None
    assert result.next_question.id == "q_chest_spread"
    assert "yes" in result.next_question.answers


def test_a_yes_to_a_danger_question_gives_an_ambulance(engine):
    result = triage("I have chest pain", answers={"q_chest_spread": "yeah it does"}, engine=engine)
    assert result.disposition is Level.EMERGENCY_AMBULANCE
    assert "RF-CHEST-001" in result.rule_ids


def test_all_no_answers_lead_to_the_protocol_baseline(engine):
    answers: dict[str, str] = {}
    result = triage("I have chest pain", engine=engine)
    while result.next_question is not None:
        answers[result.next_question.id] = "no"
        result = triage("I have chest pain", answers=answers, engine=engine)
    assert result.disposition is Level.CONSULTATION_24
    assert result.rule_ids == ("P-CHEST-002",)
    assert len(answers) >= 5


def test_not_sure_is_treated_as_the_safer_answer(engine):
    result = triage("I have chest pain", answers={"q_chest_spread": "not sure"}, engine=engine)
    assert result.disposition is Level.EMERGENCY_AMBULANCE


def test_a_free_text_answer_is_read_for_the_finding(engine):
    result = triage(
        "I have chest pain", answers={"q_chest_spread": "it goes down my left arm"}, engine=engine
    )
    assert result.disposition is Level.EMERGENCY_AMBULANCE


def test_when_it_cannot_ask_it_errs_to_the_safer_level(engine):
    result = triage("I have chest pain", ask=False, engine=engine)
    assert result.disposition is Level.EMERGENCY
    assert "P-CHEST-UNANSWERED" in result.rule_ids
    assert "safe side" in result.explanation


def test_a_red_flag_gives_the_emergency_at_once_without_questions(engine):
    result = triage("my husband's face is drooping", engine=engine)
    assert result.next_question is None
    assert result.disposition is Level.EMERGENCY_AMBULANCE


def test_a_fact_question_takes_a_number(engine):
    first = triage("my baby has a fever", engine=engine)
    assert first.next_question is not None and first.next_question.id == "q_child_age"
    result = triage("my baby has a fever", answers={"q_child_age": "6 weeks"}, engine=engine)
    assert result.disposition is Level.EMERGENCY
    assert "RF-INFANT-001" in result.rule_ids


def test_pregnancy_from_the_caller_changes_the_level(engine):
    plain = triage("severe stomach pain", ask=False, engine=engine)
    pregnant = triage("severe stomach pain", pregnant=True, ask=False, engine=engine)
    assert "RF-ABDO-002" in pregnant.rule_ids
    assert "RF-ABDO-002" not in plain.rule_ids


def test_age_modifies_the_level_after_a_fall(engine):
    young = triage("I had a fall", age_years=30, ask=False, engine=engine)
    old = triage("I had a fall", age_years=80, ask=False, engine=engine)
    assert old.disposition is not None and young.disposition is not None
    assert old.disposition.rank > young.disposition.rank


def test_an_unrecognised_message_asks_for_a_description_then_goes_to_a_clinician(engine):
    first = triage("something is off", engine=engine)
    assert first.next_question is not None and first.next_question.id == "q_main_symptom"
    result = triage("something is off", ask=False, engine=engine)
    assert result.disposition is Level.CONSULTATION
    assert result.rule_ids == ("P-GENERAL-UNANSWERED",)


def test_the_description_answer_is_triaged(engine):
    result = triage(
        "something is off", answers={"q_main_symptom": "I can't breathe"}, engine=engine
    )
    assert result.disposition is Level.EMERGENCY_AMBULANCE


def test_a_cold_is_self_care_with_safety_netting(engine):
    result = triage("I have a cold", ask=False, engine=engine)
    assert result.disposition is Level.SELF_CARE
    assert "911" in result.safety_net


def test_the_explanation_never_names_a_diagnosis_as_fact(engine):
    result = triage("crushing chest pain and sweating", engine=engine)
    assert "you have" not in result.explanation.lower()
    assert "heart attack" not in result.explanation.lower()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes", "yes"),
        ("yep", "yes"),
        ("👍", "yes"),
        ("no", "no"),
        ("Nope.", "no"),
        ("not really", "no"),
        ("not sure", "unsure"),
        ("idk", "unsure"),
        ("yes maybe", "unsure"),
        ("it started yesterday", None),
    ],
)
def test_answers_are_normalised(answer, expected):
    assert normalise_answer(answer) == expected
