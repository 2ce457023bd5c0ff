"""Rate limits per conversation and per client: REST answers 429 with Retry-After, the web
chat a "slow down" frame; nothing refused is stored, and an emergency is never refused.
Phone channels: test_rate_limits_phone.py."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.hub.rate_limits import RateLimits
from backend.services import Services
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.twilio_channel import stored_messages

WEBHOOK = "/channels/rest/webhook"
ORIGIN = "http://127.0.0.1:8000"  # the hub's own origin under the test settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    built = make_settings(
        tmp_path, rate_limit_per_address="3/minute", rate_limit_per_client="5/minute"
    )
    upgrade(built.effective_database_url)
    return built


def rest(client: TestClient, sender: str, text: str = "hello") -> Any:
    return client.post(WEBHOOK, json={"sender": sender, "message": text})


def test_a_rest_sender_over_its_limit_gets_429_with_retry_after_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    assert [rest(client, "alice").status_code for _ in range(3)] == [200, 200, 200]
    refused = rest(client, "alice", "one more")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "send it again" in refused.json()["detail"]
    assert stored_messages(services) == 6  # three in, three out: the refused one is not kept
    assert fake_rasa.texts == ["hello"] * 3
    assert rest(client, "bob").status_code == 200  # another conversation has its own count


def test_a_rest_client_over_its_limit_gets_429_whatever_sender_it_names(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """A new sender per request brings no fresh allowance: the client is counted too."""
    codes = [rest(client, f"sender-{i}").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]
    assert len(fake_rasa.received) == 5


def test_an_emergency_over_the_limit_is_still_answered(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    for _ in range(3):
        rest(client, "carol")
    assert rest(client, "carol", "still here").status_code == 429
    response = rest(client, "carol", "I have crushing chest pain")
    assert response.status_code == 200
    assert response.json()[0]["text"] == "Call 911 now."
    assert stored_messages(services) == 6 + 1 + 3  # the emergency and its three replies
    assert len(fake_rasa.received) == 3


def chat(client: TestClient) -> Any:
    """A web chat socket past its hello."""
    return client.websocket_connect("/ws/chat", headers={"Origin": ORIGIN})


def hello(ws: WebSocketTestSession) -> None:
    ws.send_json({"type": "hello", "token": None})
    assert ws.receive_json()["type"] == "session"
    assert ws.receive_json()["type"] == "history"


def send(ws: WebSocketTestSession, text: str) -> dict[str, Any]:
    """The frame that answers `text` (the typing indicator skipped)."""
    ws.send_json({"type": "message", "text": text})
    frame = ws.receive_json()
    return ws.receive_json() if frame == {"type": "typing"} else frame


def test_a_web_chat_over_its_limit_gets_a_slow_down_frame_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    with chat(client) as ws:
        hello(ws)
        answered = [send(ws, "hello")["type"] for _ in range(3)]
        refused = send(ws, "one more")
        emergency = send(ws, "crushing chest pain")
    assert answered == ["bot"] * 3
    assert refused["type"] == "error" and refused["kind"] == "slow_down"
    assert "send your message again" in refused["text"] and refused["retry_after"] >= 1
    assert emergency["type"] == "bot" and emergency["text"] == "Call 911 now."
    assert fake_rasa.texts == ["hello"] * 3
    assert stored_messages(services) == 6 + 1 + 3


def test_web_chat_tabs_from_one_client_address_share_its_limit(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """New tabs (new tokens, new conversations) bring no fresh allowance."""
    kinds = []
    for _ in range(3):
        with chat(client) as ws:
            hello(ws)
            kinds += [send(ws, "hello")["type"] for _ in range(2)]
    assert kinds == ["bot"] * 5 + ["error"]
    assert len(fake_rasa.received) == 5


async def test_a_limiter_that_cannot_count_lets_messages_through() -> None:
    """Redis down: the limit protects the assistant, it never silences a patient."""
    limits = RateLimits(
        per_address="1/minute", per_client="1/minute", storage_uri="redis://127.0.0.1:1/0"
    )
    for _ in range(3):
        assert await limits.admit(address_key="a", client_key="c") is None


@pytest.mark.redis
async def test_hub_workers_sharing_redis_share_one_count() -> None:
    """Two workers (two limiters on one Redis) count one conversation's messages together."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    workers = [
        RateLimits(
            per_address="4/minute",
            per_client="100/minute",
            storage_uri="redis://127.0.0.1:6379/0",
            key_prefix=prefix,
        )
        for _ in range(2)
    ]
    results = [await workers[i % 2].admit(address_key="conversation") for i in range(6)]
    assert [result is None for result in results] == [True] * 4 + [False] * 2
    assert await workers[0].first_notice("conversation")
    assert not await workers[1].first_notice("conversation")
