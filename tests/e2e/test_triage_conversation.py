"""Symptom triage through the real processes: questions one at a time, then the outcome;
and an emergency in the middle of it stops the questions at once."""

from __future__ import annotations

import httpx
import pytest

from scripts.stack import StackConfig
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.e2e
LEVEL_PHRASES = (
    "ambulance",
    "emergency department",
    "within 24 hours",
    "book an appointment",
    "looked after at home",
)


def say(stack: StackConfig, sender: str, message: str) -> list[dict]:
    response = httpx.post(
        f"{stack.backend_url}/channels/rest/webhook",
        json={"sender": sender, "message": message},
        headers=REST_HEADERS,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_headache_is_triaged_question_by_question(stack: StackConfig) -> None:
    replies = say(stack, "e2e-triage-1", "I've had a headache since yesterday")
    asked = 0
    while replies and replies[-1].get("buttons"):
        assert [b["title"] for b in replies[-1]["buttons"]] == ["Yes", "No", "Not sure"]
        asked += 1
        assert asked <= 12, "triage kept asking"
        replies = say(stack, "e2e-triage-1", "2")  # the second option: No
    assert asked >= 1
    outcome = " ".join(reply["text"] for reply in replies).lower()  # Rasa splits paragraphs
    assert any(phrase in outcome for phrase in LEVEL_PHRASES), outcome


def test_an_emergency_mid_triage_gets_guidance_and_ends_the_questions(stack: StackConfig) -> None:
    first = say(stack, "e2e-triage-2", "my stomach hurts")
    assert first[-1].get("buttons"), first
    emergency = say(stack, "e2e-triage-2", "now I have crushing chest pain and I'm sweating")
    assert "911" in emergency[0]["text"]
    after = say(stack, "e2e-triage-2", "hello")
    assert "assistant" in after[0]["text"].lower()  # a greeting, not the next triage question
