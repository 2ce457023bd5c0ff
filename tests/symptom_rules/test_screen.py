"""The red-flag screen that runs on every patient message."""

from __future__ import annotations

import pytest

from symptom_rules import Engine, EngineConfig, Level, screen

EMERGENCIES = [
    ("crushing chest pain going down my left arm", "RF-CHEST-001"),
    ("my dad's face is drooping and his speech is slurred", "RF-STROKE-001"),
    ("I can't breathe and my lips are blue", "RF-BREATH-001"),
    ("my tongue is swelling after peanuts", "RF-ANAPH-001"),
    ("blood is spurting from the cut and won't stop bleeding", "RF-BLEED-001"),
    ("my grandad collapsed and won't wake up", "RF-COLLAPSE-001"),
    ("my son is having a seizure", "RF-SEIZURE-001"),
    ("I'm going to kill myself tonight", "RF-MH-001"),
    ("took a whole bottle of paracetamol", "RF-OD-001"),
    ("my 6 week old has a temperature of 38.4", "RF-INFANT-001"),
    ("rash that doesn't fade under a glass", "RF-MENING-001"),
    ("stomach pain and my tummy is rigid", "RF-ABDO-001"),
    ("worst headache of my life", "RF-HEAD-001"),
    ("I've been throwing up blood", "RF-GI-001"),
    ("fever and she's really confused", "RF-SEPSIS-001"),
]


@pytest.mark.parametrize(("text", "rule_id"), EMERGENCIES)
def test_every_issue_red_flag_is_an_emergency(engine, text, rule_id):
    result = screen(text, engine=engine)
    assert result.is_emergency
    assert rule_id in result.rule_ids


def test_severe_abdominal_pain_in_pregnancy_is_an_emergency(engine):
    assert (
        "RF-ABDO-002" in screen("I'm pregnant and have severe stomach pain", engine=engine).rule_ids
    )


@pytest.mark.parametrize(
    "text",
    [
        "keystroke",
        "heartburn",
        "my job is a pain in the neck",
        "I thought I would die laughing",
        "can I book an appointment for Tuesday?",
        "had a stroke in 2019",
        "no chest pain",
        "I'm fit and healthy",
        "what are the signs of a stroke?",
        "my infection is not responding to antibiotics",
        "he won't respond to my texts",
        "I want to die my hair blue",
        "I'm choking on my words here",
        "I took 2 paracetamol for my headache",
        "I've got the tickets and I'm doing it tonight",
    ],
)
def test_ordinary_messages_raise_no_red_flag(engine, text):
    result = screen(text, engine=engine)
    assert result.level is None
    assert not result.is_emergency
    assert result.rule_ids == ()


def test_a_baby_age_from_the_caller_counts(engine):
    assert screen("temp 38.5", age_years=0.1, engine=engine).rule_ids == ("RF-INFANT-001",)
    assert screen("temp 38.5", age_years=30, engine=engine).level is None


def test_the_explanation_says_why_and_the_safety_net_gives_the_number(engine):
    result = screen("crushing chest pain and sweating", engine=engine)
    assert result.level is Level.EMERGENCY_AMBULANCE
    assert "chest pain" in result.explanation.lower()
    assert "911" in result.safety_net


def test_suicidal_thoughts_give_the_crisis_line(engine):
    result = screen("I want to kill myself", engine=engine)
    assert result.is_emergency
    assert "988" in result.safety_net


def test_emergency_and_crisis_numbers_are_configurable(engine):
    uk = Engine(EngineConfig(emergency_number="999", crisis_line="116 123"))
    result = uk.screen("I have a plan to kill myself")
    assert "999" in result.safety_net and "116 123" in result.safety_net
    assert "911" not in result.safety_net


def test_the_screen_is_a_pure_function_of_its_input(engine):
    first = screen("chest pain and sweating", engine=engine)
    assert screen("chest pain and sweating", engine=engine) == first
