"""Reading reported vital signs, and scoring them with NEWS2 (RCP 2017)."""

from __future__ import annotations

import pytest

from symptom_rules import news2
from symptom_rules.extraction import numbers, vitals
from symptom_rules.extraction.pipeline import read_facts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HR 118", 118.0),
        ("heart rate of 118", 118.0),
        ("my heart is racing at 130", 130.0),
        ("pulse 72 bpm", 72.0),
        ("112 beats per minute", 112.0),
        ("pulse ox says 95%", None),
        ("BP 88/50", None),
    ],
)
def test_heart_rate_is_read_in_any_voice(text, expected):
    assert vitals.heart_rate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RR 22", 22.0),
        ("respiratory rate of 22", 22.0),
        ("breathing 30 a minute", 30.0),
        ("40 breaths per minute", 40.0),
        ("out of breath for 3 days", None),
    ],
)
def test_respiratory_rate_is_read_per_minute(text, expected):
    assert vitals.resp_rate(text) == expected


def test_blood_pressure_keeps_the_systolic_in_mmhg():
    assert vitals.systolic_bp("BP 88/50") == 88.0
    assert vitals.systolic_bp("blood pressure is 150/95") == 150.0
    assert vitals.systolic_bp("it was 92/60 mmHg") == 92.0
    assert vitals.systolic_bp("for 3/7") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("sats 89", 89.0), ("SpO2 91%", 91.0), ("oxygen 93% on air", 93.0), ("96% RA", 96.0)],
)
def test_oxygen_saturation_is_read_in_percent(text, expected):
    assert vitals.spo2(text) == expected


def test_temperature_in_fahrenheit_is_converted_to_celsius():
    assert numbers.temperature_c("102F") == pytest.approx(38.9)
    assert numbers.temperature_c("temp 38.9") == 38.9


def test_a_blood_pressure_is_not_read_as_a_duration():
    assert "duration_days" not in read_facts("BP 88/52")


@pytest.mark.parametrize(
    ("parameter", "value", "points"),
    [
        ("resp_rate", 8, 3),
        ("resp_rate", 11, 1),
        ("resp_rate", 20, 0),
        ("resp_rate", 22, 2),
        ("resp_rate", 25, 3),
        ("spo2", 91, 3),
        ("spo2", 93, 2),
        ("spo2", 95, 1),
        ("spo2", 96, 0),
        ("systolic_bp", 90, 3),
        ("systolic_bp", 100, 2),
        ("systolic_bp", 110, 1),
        ("systolic_bp", 219, 0),
        ("systolic_bp", 220, 3),
        ("heart_rate", 40, 3),
        ("heart_rate", 50, 1),
        ("heart_rate", 90, 0),
        ("heart_rate", 110, 1),
        ("heart_rate", 130, 2),
        ("heart_rate", 131, 3),
        ("temperature_c", 35.0, 3),
        ("temperature_c", 36.0, 1),
        ("temperature_c", 38.0, 0),
        ("temperature_c", 39.0, 1),
        ("temperature_c", 39.1, 2),
    ],
)
def test_news2_points_follow_the_rcp_chart(parameter, value, points):
    assert news2.points(parameter, value) == points


def test_news2_adds_three_for_new_confusion_and_reports_the_highest_single_score():
    facts = {"resp_rate": 22.0, "heart_rate": 118.0}
    assert news2.score(facts, lambda f: f == "confusion") == (7, 3)
    assert news2.score(facts, lambda f: None) == (4, 2)


def test_news2_needs_an_observation_and_an_adult():
    assert news2.score({"temperature_c": 39.5}, lambda f: None) is None
    assert news2.score({"heart_rate": 150.0, "age_years": 4.0}, lambda f: None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("o2 89%", 89.0),
        ("oxygen 85", 85.0),
        ("oxygen keeps reading 85", 85.0),
        ("my sats are 88", 88.0),
        ("oxygen dropped to 87", 87.0),
        ("oximeter says 88", 88.0),
        ("88% on the pulse ox", 88.0),
        ("saturating 89%", 89.0),
        ("on 2L o2, sats 94", 94.0),
        ("oxygen 2 litres at home", None),
        ("o2 2l", None),
    ],
)
def test_oxygen_saturation_is_read_in_lay_wording(text, expected):
    assert vitals.spo2(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("heart rate 160 on my run", None),
        ("my heart rate went up to 140 during spin class", None),
        ("HR 150 at the gym. Now HR 96 sitting down", 96.0),
        ("heart rate 150 at rest", 150.0),
    ],
)
def test_a_heart_rate_during_exercise_is_not_a_resting_observation(text, expected):
    assert vitals.heart_rate(text) == expected


def test_the_diastolic_is_the_one_of_the_reading_kept_for_the_systolic():
    assert vitals.diastolic_bp("BP 190/125") == 125.0
    assert vitals.diastolic_bp("BP 120/80 today after BP 190/120 last week") == 80.0
    assert vitals.diastolic_bp("for 3/7") is None


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("sugar 2.1", 2.1, 2.1),
        ("blood sugar is 2.5 mmol", 2.5, 2.5),
        ("BM 3.2", 3.2, 3.2),
        ("glucose 45 mg/dl", 2.5, 2.5),
        ("sugar is 28", 28.0, 28.0),
        ("sugar was 2.8, an hour later sugar 9.5", 2.8, 9.5),
        ("my sugar levels are 48", None, None),  # over 35 without mg/dL: not read
        ("I take 2 sugars in my tea", None, None),
    ],
)
def test_blood_glucose_is_read_in_mmol_per_litre(text, low, high):
    assert vitals.blood_glucose(text) == low
    assert vitals.blood_glucose_high(text) == high


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ketones 3.5", 3.5),
        ("blood ketones are 4.2", 4.2),
        ("ketone level 0.6", 0.6),
        ("ketones ++", None),
    ],
)
def test_blood_ketones_are_read_in_mmol_per_litre(text, expected):
    assert vitals.blood_ketones(text) == expected


def test_the_diabetes_readings_and_the_diastolic_reach_the_facts():
    facts = read_facts("BP 190/125, sugar 2.1, ketones 3.2")
    assert facts["diastolic_bp"] == 125.0
    assert facts["blood_glucose"] == 2.1
    assert facts["blood_ketones"] == 3.2
