"""Phone messages are stored and acknowledged at once, then answered from the turn queue:
once, in order, after a restart too, and through arq on the real Redis when configured."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Message
from backend.services import Services, build_services
from channels.base import InboundMessage, Reply
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.utils.fake_rasa import FakeRasa

REDIS_URL = "redis://127.0.0.1:6379/14"


class FlakyRasa(FakeRasa):
    """Down for the first `failures` messages, then answers."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        if self.failures:
            self.failures -= 1
            self.down = True
        else:
            self.down = False
        return await super().send(conversation_id, text)


class Delivered:
    """Stands in for the channel senders: what would have gone to each conversation."""

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []

    async def __call__(self, conversation_id: str, replies: list[Reply]) -> int:
        self.replies.extend((conversation_id, reply.text) for reply in replies)
        return len(replies)


def sms(text: str, sid: str, sender: str = "+15551230001") -> InboundMessage:
    return InboundMessage("sms", sender, text, provider_message_id=sid)


def _services(tmp_path: Path, rasa: FakeRasa, **overrides: object) -> Services:
    settings: Settings = make_settings(tmp_path, **overrides)
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=rasa, safety_screen=chest_pain_screen)
    assert services.phone_turns is not None
    delivered = Delivered()
    services.phone_turns._deliver = delivered  # the senders are tested in their own files
    return services


def _delivered(services: Services) -> Delivered:
    assert services.phone_turns is not None
    deliver = services.phone_turns._deliver
    assert isinstance(deliver, Delivered)
    return deliver


def _unanswered(services: Services) -> int:
    with services.session_factory() as session:
        return len(
            session.scalars(
                select(Message.id).where(Message.direction == "in", Message.handled_at.is_(None))
            ).all()
        )


def test_a_turn_tried_while_rasa_is_down_is_answered_once_rasa_is_back(tmp_path: Path) -> None:
    rasa = FlakyRasa(failures=2)
    services = _services(tmp_path, rasa)
    turns = services.phone_turns
    assert turns is not None

    async def run() -> None:
        await turns.start()
        await turns.accept(sms("hello", "SM1"))
        await turns.settle()

    asyncio.run(run())

    assert [text for _, text in _delivered(services).replies] == ["echo: hello"]
    assert _unanswered(services) == 0


def test_a_stored_message_never_answered_is_answered_at_start_up(tmp_path: Path) -> None:
    """As after a crash between storing the message and running its turn."""
    rasa = FakeRasa()
    services = _services(tmp_path, rasa)
    turns = services.phone_turns
    assert turns is not None

    async def run() -> int:
        await services.hub.accept(sms("still there?", "SM2"))  # stored, never queued
        requeued = await turns.start()
        await turns.settle()
        return requeued

    assert asyncio.run(run()) == 1
    assert [text for _, text in _delivered(services).replies] == ["echo: still there?"]
    assert _unanswered(services) == 0


def test_a_retried_job_or_webhook_never_answers_the_patient_twice(tmp_path: Path) -> None:
    rasa = FakeRasa()
    services = _services(tmp_path, rasa)
    turns = services.phone_turns
    assert turns is not None

    async def run() -> None:
        await turns.start()
        accepted = await turns.accept(sms("hi", "SM3"))
        await turns.settle()
        await turns.answer(accepted.message_id, False)  # the job again (a dead worker's)
        again = await turns.accept(sms("hi", "SM3"))  # the webhook again (Twilio's retry)
        assert again.duplicate and again.handled
        await turns.settle()

    asyncio.run(run())

    assert rasa.texts == ["hi"]
    assert len(_delivered(services).replies) == 1


def test_messages_of_one_phone_conversation_are_answered_in_arrival_order(
    tmp_path: Path,
) -> None:
    rasa = FakeRasa()
    services = _services(tmp_path, rasa)
    turns = services.phone_turns
    assert turns is not None

    async def run() -> None:
        await turns.start()
        for n in range(6):
            await turns.accept(sms(f"m{n}", f"SM-order-{n}"))
        await turns.settle()

    asyncio.run(run())

    assert rasa.texts == [f"m{n}" for n in range(6)]


@pytest.fixture
def redis_db() -> Redis:
    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:  # the machine's Redis (docs/concurrency.md) is not running
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_with_redis_phone_turns_run_from_arq_and_answer_each_message_once(
    tmp_path: Path, redis_db: Redis
) -> None:
    rasa = FlakyRasa(failures=1)
    services = _services(tmp_path, rasa, redis_url=REDIS_URL)
    turns = services.phone_turns
    assert turns is not None
    sender = f"+1555{uuid.uuid4().int % 10**7:07d}"

    async def run() -> None:
        await turns.start()
        try:
            for n in range(3):
                await turns.accept(sms(f"a{n}", f"SM-arq-{n}", sender))
            await turns.accept(sms("a0", "SM-arq-0", sender))  # a retried webhook
            await turns.settle()
        finally:
            await turns.stop()
            assert services.redis is not None
            await services.redis.aclose()

    asyncio.run(run())

    # Whichever job runs first answers the earlier messages first: arrival order holds.
    assert [text for _, text in _delivered(services).replies] == [
        "echo: a0",
        "echo: a1",
        "echo: a2",
    ]
    assert _unanswered(services) == 0
