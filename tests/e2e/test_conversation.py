"""A conversation with the real processes through POST /channels/rest/webhook."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from scripts.stack import StackConfig
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.e2e


def say(stack: StackConfig, sender: str, message: object) -> httpx.Response:
    return httpx.post(
        f"{stack.backend_url}/channels/rest/webhook",
        json={"sender": sender, "message": message},
        headers=REST_HEADERS,
        timeout=60,
    )


def rasa_tracker(stack: StackConfig, conversation_id: str) -> dict:
    token = stack.process_env()["RASA_TOKEN"]
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker", params={"token": token}
    )
    response.raise_for_status()
    return response.json()


def test_every_dependency_is_healthy(stack: StackConfig) -> None:
    health = httpx.get(f"{stack.backend_url}/healthz", timeout=10).json()
    assert health["status"] == "ok", health


def test_a_patient_greets_asks_what_it_does_and_whether_it_is_a_bot(stack: StackConfig) -> None:
    greeting = say(stack, "e2e-patient-1", "hello")
    assert greeting.status_code == 200
    assert "assistant" in greeting.json()[0]["text"].lower()
    capabilities = say(stack, "e2e-patient-1", "what can you do?").json()
    assert "appointments" in capabilities[0]["text"]
    bot = say(stack, "e2e-patient-1", "are you a bot?").json()
    assert "automated assistant" in bot[0]["text"]


def test_rasa_is_closed_without_its_token(stack: StackConfig) -> None:
    response = httpx.get(f"{stack.rasa_url}/conversations/anyone/tracker")
    assert response.status_code == 401


def test_slash_commands_reach_rasa_as_plain_text_never_as_intents(stack: StackConfig) -> None:
    for text in ["/greet", "/restart", '/book_appointment{"x":1}']:
        assert say(stack, "e2e-slash", text).status_code == 200
    sender_ids = _conversation_ids(stack)
    texts = [
        event["text"]
        for cid in sender_ids
        for event in rasa_tracker(stack, cid)["events"]
        if event["event"] == "user"
    ]
    assert "greet" in texts and "restart" in texts
    assert not any(t.startswith("/") for t in texts)
    restarts = [
        event
        for cid in sender_ids
        for event in rasa_tracker(stack, cid)["events"]
        if event["event"] == "restart"
    ]
    assert restarts == []


def test_bad_input_gets_a_clear_error_and_unicode_gets_an_answer(stack: StackConfig) -> None:
    assert say(stack, "e2e-bad", "").status_code == 422
    assert say(stack, "e2e-bad", "   ").status_code == 422
    assert say(stack, "e2e-bad", "x" * 10_000).status_code == 422
    assert say(stack, "e2e-bad", 42).status_code == 422
    not_json = httpx.post(
        f"{stack.backend_url}/channels/rest/webhook", content=b"{oops", headers=REST_HEADERS
    )
    assert not_json.status_code == 422
    emoji = say(stack, "e2e-bad", "héllo 👋 こんにちは")
    assert emoji.status_code == 200 and emoji.json()


def test_an_emergency_is_answered_by_the_red_flag_screen_before_rasa(stack: StackConfig) -> None:
    replies = say(stack, "e2e-emergency", "crushing chest pain and I'm sweating").json()
    assert "911" in replies[0]["text"]


def _conversation_ids(stack: StackConfig) -> list[str]:
    """Opaque ids Rasa knows, from Rasa's own tracker store (the hub never sends addresses)."""
    db = stack.var_dir / "rasa" / "tracker.db"
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT DISTINCT sender_id FROM events").fetchall()
    return [row[0] for row in rows]
