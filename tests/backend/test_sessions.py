"""Long conversations are split into Rasa sessions at idle points (hub/sessions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from backend.hub.sessions import RASA_SESSION_EXPIRY, turns_after_message, wants_new_session
from tests.utils.fake_rasa import FakeRasa

WEBHOOK = "/channels/rest/webhook"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_turns_restart_after_rasas_inactivity_expiry() -> None:
    assert turns_after_message(7, NOW - RASA_SESSION_EXPIRY, NOW) == 1
    assert turns_after_message(7, NOW - timedelta(minutes=5), NOW) == 8


def test_a_session_is_closed_only_past_the_turn_limit() -> None:
    assert not wants_new_session(20, 20)
    assert wants_new_session(21, 20)


def test_hub_starts_a_new_session_after_max_turns_when_idle(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    for n in range(7):  # session_max_turns is 3 in the test settings
        client.post(WEBHOOK, json={"sender": "alice", "message": f"m{n}"})
    assert len(fake_rasa.sessions_started) == 2
    assert len(fake_rasa.texts) == 7


def test_hub_never_cuts_a_session_while_a_form_is_active(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    fake_rasa.active_loop = True
    for n in range(7):
        client.post(WEBHOOK, json={"sender": "alice", "message": f"m{n}"})
    assert fake_rasa.sessions_started == []
