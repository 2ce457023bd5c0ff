"""The generated symptom regex feature matches the triage vocabulary it is built from."""

from __future__ import annotations

import re

import pytest

from scripts import build_symptom_lookup
from scripts.check_nlu_thresholds import check


@pytest.fixture(scope="module")
def pattern() -> re.Pattern[str]:
    text = build_symptom_lookup.expected_text()
    line = next(raw for raw in text.splitlines() if raw.startswith("      - "))
    return re.compile(line.removeprefix("      - "), re.IGNORECASE)


def test_generated_file_is_up_to_date() -> None:
    committed = build_symptom_lookup.OUTPUT.read_text(encoding="utf-8")
    assert committed == build_symptom_lookup.expected_text(), (
        "bot/data/nlu/lookups/symptoms.yml is stale: run .venv/bin/python -m "
        "scripts.build_symptom_lookup"
    )


@pytest.mark.parametrize(
    "text",
    [
        "my knee hurts",
        "i have a bad hedache",
        "my son has a fever",
        "been vomitting all night",
        "my back is killing me",
        "tummyache since lunch",
    ],
)
def test_symptoms_match(pattern: re.Pattern[str], text: str) -> None:
    assert pattern.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "book a table for friday",
        "cancel my gym membership",
        "this queue is a pain in the neck",
        "i need a blood test form",
        "set an alarm for 6am",
    ],
)
def test_other_words_do_not_match(pattern: re.Pattern[str], text: str) -> None:
    assert not pattern.search(text)


def test_thresholds_fail_below_the_floor() -> None:
    cv = {"describe_symptoms": {"recall": 0.5}, "out_of_scope": {"precision": 1.0}}
    heldout = {"symptoms_as_describe_symptoms": 1.0, "others_to_clinic_tasks": 0.5}
    failures = check(cv, heldout)
    assert len(failures) == 2


def test_thresholds_pass_above_the_floor() -> None:
    cv = {"describe_symptoms": {"recall": 1.0}, "out_of_scope": {"precision": 1.0}}
    heldout = {"symptoms_as_describe_symptoms": 1.0, "others_to_clinic_tasks": 0.0}
    assert check(cv, heldout) == []
