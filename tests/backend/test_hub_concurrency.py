"""Many patients at once: per-conversation order, parallel conversations, backpressure, and
no deadlock when Rasa's actions call back into the backend while turns are in flight."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Message
from backend.ehr.fake import InMemoryEhr
from backend.services import Services, build_services
from channels.base import Reply
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS

WEBHOOK = "/channels/rest/webhook"


class SlowRasa(FakeRasa):
    """Answers after `hold` is set, recording which conversations were being answered at once
    (and, if `backend_url` is set, calling the backend's internal API as actions do)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = asyncio.Event()
        self.hold.set()
        self.active: dict[str, int] = {}
        self.overlapped_within_conversation = False
        self.most_at_once = 0
        self.backend_url: str | None = None
        self.service_token = ""

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        self.active[conversation_id] = self.active.get(conversation_id, 0) + 1
        self.overlapped_within_conversation |= self.active[conversation_id] > 1
        self.most_at_once = max(self.most_at_once, sum(self.active.values()))
        try:
            await self.hold.wait()
            await asyncio.sleep(0.01)
            if self.backend_url is not None:
                await self._call_an_action(conversation_id)
            return await super().send(conversation_id, text)
        finally:
            self.active[conversation_id] -= 1

    async def _call_an_action(self, conversation_id: str) -> None:
        async with httpx.AsyncClient(base_url=str(self.backend_url), timeout=30) as client:
            response = await client.post(
                "/internal/identity/status",
                json={"conversation_id": conversation_id},
                headers={"Authorization": f"Bearer {self.service_token}"},
            )
            response.raise_for_status()


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    built = make_settings(tmp_path, **overrides)
    upgrade(built.effective_database_url)
    return built


@pytest.fixture
def slow_rasa() -> SlowRasa:
    return SlowRasa()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Few database threads: the old hub held a pooled connection across Rasa's answer.
    return _settings(tmp_path, db_threads=2, hub_max_turns=64, session_max_turns=50)


@pytest.fixture
def services(settings: Settings, slow_rasa: SlowRasa) -> Services:
    return build_services(
        settings, rasa=slow_rasa, safety_screen=chest_pain_screen, ehr=InMemoryEhr.from_seed()
    )


@pytest.fixture
def live(backend_url: str, slow_rasa: SlowRasa, settings: Settings) -> Iterator[str]:
    slow_rasa.backend_url = backend_url
    slow_rasa.service_token = settings.service_token
    yield backend_url


async def _conversation(client: httpx.AsyncClient, sender: str, count: int) -> list[str]:
    answers: list[str] = []
    for n in range(count):
        response = await client.post(WEBHOOK, json={"sender": sender, "message": f"m{n}"})
        assert response.status_code == 200, response.text
        answers.extend(reply["text"] for reply in response.json())
    return answers


def test_many_conversations_with_actions_calling_back_are_all_answered_in_order(
    live: str, slow_rasa: SlowRasa, services: Services
) -> None:
    async def run() -> list[list[str]]:
        async with httpx.AsyncClient(base_url=live, timeout=60, headers=REST_HEADERS) as client:
            return await asyncio.gather(
                *(_conversation(client, f"patient-{n}", 3) for n in range(48))
            )

    answers = asyncio.run(run())

    assert answers == [["echo: m0", "echo: m1", "echo: m2"]] * 48
    assert slow_rasa.most_at_once > 2  # conversations ran in parallel
    with services.session_factory() as session:
        count = session.scalar(select(func.count()).select_from(Message))
        unanswered = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "in", Message.handled_at.is_(None))
        )
    assert count == 48 * 3 * 2
    assert unanswered == 0
    health = httpx.get(f"{live}/healthz", timeout=5).json()
    assert health["event_loop"]["turns_in_flight"] == 0


def test_messages_of_one_conversation_sent_at_once_are_answered_one_at_a_time(
    live: str, slow_rasa: SlowRasa
) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live, timeout=60, headers=REST_HEADERS) as client:
            sends = [
                client.post(WEBHOOK, json={"sender": sender, "message": f"{sender}-{n}"})
                for n in range(4)
                for sender in ("ann", "ben")
            ]
            return await asyncio.gather(*sends)

    responses = asyncio.run(run())

    assert all(response.status_code == 200 for response in responses)
    assert not slow_rasa.overlapped_within_conversation
    assert slow_rasa.most_at_once == 2  # but the two conversations overlapped
    per_conversation: dict[str, list[str]] = {}
    for conversation_id, text in slow_rasa.received:
        per_conversation.setdefault(conversation_id, []).append(text)
    assert sorted(len(texts) for texts in per_conversation.values()) == [4, 4]


def test_past_the_bound_rest_answers_503_with_retry_after_and_stores_nothing(
    tmp_path: Path, slow_rasa: SlowRasa
) -> None:
    settings = _settings(tmp_path, hub_max_turns=1, hub_max_waiting=0, hub_retry_after_s=3)
    services = build_services(settings, rasa=slow_rasa, safety_screen=chest_pain_screen)
    from backend.main import create_app

    async def run() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(settings, services))
        client = httpx.AsyncClient(transport=transport, base_url="http://hub", headers=REST_HEADERS)
        async with client, _lifespan(transport):  # the lifespan sets the app's state
            slow_rasa.hold.clear()
            first = asyncio.create_task(
                client.post(WEBHOOK, json={"sender": "a", "message": "first"})
            )
            for _ in range(2000):  # until Rasa is working on the first, with a ceiling
                if any(slow_rasa.active.values()):
                    break
                await asyncio.sleep(0.005)
            refused = await client.post(WEBHOOK, json={"sender": "b", "message": "hi"})
            slow_rasa.hold.set()
            return await first, refused

    answered, refused = asyncio.run(run())

    assert answered.status_code == 200
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "3"
    assert "send it again" in refused.json()["detail"]
    with services.session_factory() as session:
        texts = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    assert texts == 1  # only the message that was taken


class _lifespan:
    """Runs the ASGI app's lifespan (start-up and shutdown) around a block."""

    def __init__(self, transport: httpx.ASGITransport) -> None:
        self.app = transport.app
        self.started = asyncio.Event()
        self.stop = asyncio.Event()

    async def __aenter__(self) -> None:
        self.messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        await self.messages.put({"type": "lifespan.startup"})
        self.task: asyncio.Task[None] = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, self._receive, self._send)  # type: ignore[arg-type]
        )
        await self.started.wait()

    async def __aexit__(self, *exc: object) -> None:
        await self.messages.put({"type": "lifespan.shutdown"})
        await self.task

    async def _receive(self) -> dict[str, str]:
        return await self.messages.get()

    async def _send(self, message: dict[str, str]) -> None:
        if message["type"].startswith("lifespan.startup"):
            self.started.set()


@pytest.fixture
def one_turn_at_a_time(tmp_path: Path, slow_rasa: SlowRasa) -> Iterator[str]:
    """A live backend that answers one turn at a time and lets none wait (for REST)."""
    import threading
    import time

    import uvicorn

    from backend.main import create_app
    from scripts.stack import free_port

    settings = _settings(tmp_path, hub_max_turns=1, hub_max_waiting=0)
    services = build_services(settings, rasa=slow_rasa, safety_screen=chest_pain_screen)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, services), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_web_chat_message_past_the_bound_is_kept_and_answered_after_a_busy_notice(
    one_turn_at_a_time: str, slow_rasa: SlowRasa
) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async def run() -> tuple[list[dict[str, str]], int]:
        slow_rasa.hold.clear()
        async with httpx.AsyncClient(
            base_url=f"http://{one_turn_at_a_time}", timeout=30, headers=REST_HEADERS
        ) as rest:
            first = asyncio.create_task(
                rest.post(WEBHOOK, json={"sender": "rest-patient", "message": "first"})
            )
            for _ in range(2000):  # until Rasa is working on it, with a ceiling
                if any(slow_rasa.active.values()):
                    break
                await asyncio.sleep(0.005)
            # The hub's own origin (PUBLIC_BASE_URL's default): the socket checks it.
            origin = Origin("http://127.0.0.1:8000")
            async with connect(f"ws://{one_turn_at_a_time}/ws/chat", origin=origin) as socket:
                await socket.send(json.dumps({"type": "hello"}))
                await socket.recv()  # session
                await socket.recv()  # history
                await socket.send(json.dumps({"type": "message", "text": "are you there"}))
                frames = [json.loads(await socket.recv()) for _ in range(2)]  # typing, busy
                slow_rasa.hold.set()
                frames.append(json.loads(await socket.recv()))
            return frames, (await first).status_code

    frames, first_status = asyncio.run(run())

    assert [frame["type"] for frame in frames] == ["typing", "busy", "bot"]
    assert "kept" in frames[1]["text"]
    assert frames[2]["text"] == "echo: are you there"
    assert first_status == 200
