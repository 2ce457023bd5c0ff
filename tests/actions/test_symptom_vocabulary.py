"""SymptomVocabulary (bot/nlu/): a named current symptom wins over an unsure task guess.

Lives with the actions' tests because it needs Rasa's environment (Python 3.10, Rasa).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu.symptom_vocabulary import SymptomVocabulary

LOOKUP = Path(__file__).resolve().parents[2] / "bot" / "data" / "nlu" / "lookups" / "symptoms.yml"


@pytest.fixture(scope="module")
def component() -> SymptomVocabulary:
    data: dict[str, Any] = yaml.safe_load(LOOKUP.read_text(encoding="utf-8"))
    examples = data["nlu"][0]["examples"]
    patterns = [line[2:] for line in examples.splitlines() if line.startswith("- ")]
    return SymptomVocabulary({}, None, None, patterns)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("my knee hurts when i climb stairs", "list_appointments", 0.7),
        ("my son has had a fever since last night", "nlu_fallback", 0.3),
        ("sore throat and cough for a week", "out_of_scope", 0.6),
        ("bad hedache all day", "greet", 0.4),
    ],
)
def test_named_symptom_becomes_describe_symptoms(
    component: SymptomVocabulary, text: str, intent: str, confidence: float
) -> None:
    assert component.decide(text, intent, confidence)


@pytest.mark.parametrize(
    ("text", "intent", "confidence"),
    [
        ("book me an appointment about my back pain", "book_appointment", 0.6),
        ("can i get a refill, my asthma is bad", "request_refill", 0.7),
        ("book a table for friday", "book_appointment", 0.6),
        ("my dog is vomiting", "out_of_scope", 0.6),
        ("my phone is overheating", "out_of_scope", 0.5),
        ("my knee hurts", "describe_symptoms", 0.9),
        ("i have a headache, can i talk to a nurse", "request_human", 0.5),
    ],
)
def test_tasks_and_other_subjects_stay(
    component: SymptomVocabulary, text: str, intent: str, confidence: float
) -> None:
    assert not component.decide(text, intent, confidence)


def test_process_puts_describe_symptoms_first(component: SymptomVocabulary) -> None:
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": "my ear hurts and my throat is sore"})
    message.set("intent", {"name": "cancel_appointment", "confidence": 0.5})
    message.set(
        "intent_ranking",
        [
            {"name": "cancel_appointment", "confidence": 0.5},
            {"name": "describe_symptoms", "confidence": 0.3},
        ],
    )
    component.process([message])
    assert message.get("intent")["name"] == "describe_symptoms"
    ranking = [r["name"] for r in message.get("intent_ranking")]
    assert ranking == ["describe_symptoms", "cancel_appointment"]
