"""Every route refuses a body over MAX_BODY_BYTES before reading it (backend/api/body_limit.py)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from backend.services import Services
from tests.utils.fake_rasa import FakeRasa
from tests.utils.twilio_channel import stored_messages

LIMIT = 64 * 1024


def test_a_declared_body_over_the_limit_is_refused_before_any_route_runs(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    for path in ("/channels/rest/webhook", "/console/api/login", "/internal/triage"):
        response = client.post(
            path, content=b"{" + b" " * LIMIT + b"}", headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, path
        assert str(LIMIT) in response.json()["detail"]
    assert fake_rasa.texts == [] and stored_messages(services) == 0


def test_a_chunked_body_is_counted_as_it_arrives_and_cut_off_at_the_limit(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"sender": "alice", "message": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}'

    response = client.post(
        "/channels/rest/webhook", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert fake_rasa.texts == [] and stored_messages(services) == 0


def test_an_ordinary_message_passes(client: TestClient, fake_rasa: FakeRasa) -> None:
    response = client.post("/channels/rest/webhook", json={"sender": "alice", "message": "hi"})
    assert response.status_code == 200 and fake_rasa.texts == ["hi"]
