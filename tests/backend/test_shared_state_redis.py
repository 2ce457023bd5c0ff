"""Several hub workers sharing state through the real Redis on 127.0.0.1:6379: console events,
web chat pushes and the refill lock reach across workers; without Redis, all stays in memory.

Each "worker" is its own LiveHub, Redis client or Services (as separate processes would be);
every test uses its own key and channel prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.migrate import upgrade
from backend.db.models import Conversation
from backend.ehr.domain import RefillTask
from backend.handoff.live import LiveHub, PushOutcome
from backend.handoff.live_redis import RedisLiveHub
from backend.main import create_app
from backend.records import refills
from backend.records.refill_locks import LocalRefillLocks, RedisRefillLocks, refill_locks_for
from backend.services import Services, build_services
from scripts.stack import free_port
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.backend.test_console_live import events
from tests.backend.test_handoff_console_api import SERVICE, escalate, sign_in
from tests.backend.test_records_refills import InterleavingEhr
from tests.backend.test_webchat_socket import open_chat, say
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import PASSWORD, make_clinician
from tests.utils.records import PATIENT, clinic_records
from tests.utils.rest_client import HEADERS as REST_HEADERS

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "test-encryption-key-0123456789"
WAIT_S = 5.0
needs_redis = pytest.mark.redis  # the in-memory tests at the end run without it


def _redis_reachable() -> str | None:
    try:
        with SyncRedis.from_url(REDIS_URL, socket_connect_timeout=1) as probe:
            probe.ping()
    except (RedisError, OSError) as exc:
        return f"Redis on 127.0.0.1:6379 is not reachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key and channel prefix of this test's own; its keys are deleted afterwards."""
    unreachable = _redis_reachable()
    if unreachable:
        pytest.skip(unreachable)
    name = f"test:{uuid.uuid4().hex[:12]}:"
    yield name
    with SyncRedis.from_url(REDIS_URL) as admin:
        leftover = list(admin.scan_iter(match=f"{name}*"))
        if leftover:
            admin.delete(*leftover)


@pytest.fixture
async def clients(prefix: str) -> AsyncIterator[tuple[Redis, Redis]]:
    """One Redis client per worker: separate connection pools, as in separate processes."""
    a, b = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    yield a, b
    await a.aclose()
    await b.aclose()


@pytest.fixture
async def workers(
    clients: tuple[Redis, Redis], prefix: str
) -> AsyncIterator[tuple[RedisLiveHub, RedisLiveHub]]:
    """Two workers' live hubs, subscribed."""
    a, b = (RedisLiveHub(client, Cipher(SECRET), prefix=prefix) for client in clients)
    await a.start()
    await b.start()
    assert a.listening and b.listening
    yield a, b
    await a.close()
    await b.close()


# --- console events ----------------------------------------------------------------------------


@needs_redis
async def test_an_event_published_on_one_worker_reaches_a_stream_on_the_other(
    workers: tuple[RedisLiveHub, RedisLiveHub],
) -> None:
    a, b = workers
    on_a, on_b = a.subscribe(), b.subscribe()
    b.publish({"type": "queue", "handoff_id": 7})
    assert await asyncio.wait_for(on_a.get(), WAIT_S) == {"type": "queue", "handoff_id": 7}
    assert await asyncio.wait_for(on_b.get(), WAIT_S) == {"type": "queue", "handoff_id": 7}
    await asyncio.sleep(0.2)  # B hears its own message back from Redis, and skips it
    assert on_a.empty() and on_b.empty()


@needs_redis
async def test_an_event_published_from_a_worker_thread_reaches_the_other_worker(
    workers: tuple[RedisLiveHub, RedisLiveHub],
) -> None:
    a, b = workers
    on_a = a.subscribe()
    # Sync routes and database work publish from threads: B hands the send to its loop.
    await asyncio.to_thread(b.publish, {"type": "message", "handoff_id": 8})
    assert await asyncio.wait_for(on_a.get(), WAIT_S) == {"type": "message", "handoff_id": 8}


@needs_redis
async def test_a_worker_that_never_started_subscribes_with_its_first_stream(
    clients: tuple[Redis, Redis], workers: tuple[RedisLiveHub, RedisLiveHub], prefix: str
) -> None:
    _, b = workers
    late = RedisLiveHub(clients[0], Cipher(SECRET), prefix=prefix)
    stream = late.subscribe()
    try:
        await _until(lambda: late.listening)
        b.publish({"type": "queue", "handoff_id": 9})
        assert await asyncio.wait_for(stream.get(), WAIT_S) == {"type": "queue", "handoff_id": 9}
    finally:
        await late.close()
    assert not late.listening


@needs_redis
async def test_the_subscriber_comes_back_after_its_connection_is_killed(
    clients: tuple[Redis, Redis], workers: tuple[RedisLiveHub, RedisLiveHub], prefix: str
) -> None:
    _, b = workers
    named = Redis.from_url(REDIS_URL, client_name=f"{prefix}worker-a")
    a = RedisLiveHub(named, Cipher(SECRET), prefix=prefix)
    await a.start()
    stream = a.subscribe()
    try:
        killed = 0
        for client in await named.client_list(_type="pubsub"):
            if client["name"] == f"{prefix}worker-a":
                killed += await clients[1].client_kill_filter(_id=client["id"])
        assert killed == 1  # as when Redis restarts under a running worker
        deadline = time.monotonic() + WAIT_S
        while stream.empty() and time.monotonic() < deadline:
            b.publish({"type": "queue", "handoff_id": 10})  # lost until A has subscribed again
            await asyncio.sleep(0.1)
        assert await asyncio.wait_for(stream.get(), WAIT_S) == {"type": "queue", "handoff_id": 10}
    finally:
        await a.close()
        await named.aclose()


# --- web chat pushes ---------------------------------------------------------------------------


@needs_redis
async def test_a_web_chat_push_reaches_the_tab_on_the_other_worker_encrypted_in_redis(
    clients: tuple[Redis, Redis], workers: tuple[RedisLiveHub, RedisLiveHub]
) -> None:
    a, b = workers
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def tab(frame: dict[str, Any]) -> None:
        received.append(frame)
        arrived.set()

    a.attach_webchat("conv-123", tab)
    raw = clients[0].pubsub()  # what crosses Redis, read as anyone with access would
    await raw.subscribe(a.webchat_channel)
    assert (await raw.get_message(timeout=WAIT_S) or {}).get("type") == "subscribe"
    text = "Nurse Ann here: take 500 mg of amoxicillin"
    frame = {"type": "bot", "author": "clinician", "text": text}

    outcome = await b.push_webchat("conv-123", frame)

    await asyncio.wait_for(arrived.wait(), WAIT_S)
    assert received == [frame]
    assert outcome == PushOutcome(tabs_here=0, relayed=True)
    crossed = await raw.get_message(timeout=WAIT_S)
    await raw.aclose()
    assert crossed is not None and crossed["type"] == "message"
    assert b"amoxicillin" not in crossed["data"] and b"Nurse" not in crossed["data"]
    assert b"conv-123" not in crossed["data"]  # nor whose conversation it is
    sealed = json.loads(crossed["data"])["sealed"]
    assert json.loads(Cipher(SECRET).decrypt(sealed))["frame"] == frame


@needs_redis
async def test_a_push_reaches_this_workers_tab_once_and_a_closed_tab_is_dropped(
    workers: tuple[RedisLiveHub, RedisLiveHub],
) -> None:
    _, b = workers
    received: list[dict[str, Any]] = []

    async def tab(frame: dict[str, Any]) -> None:
        received.append(frame)

    async def closed(frame: dict[str, Any]) -> None:
        raise RuntimeError("the socket has closed")

    b.attach_webchat("conv-9", tab)
    b.attach_webchat("conv-9", closed)
    assert await b.push_webchat("conv-9", {"type": "bot"}) == PushOutcome(1, relayed=True)
    await asyncio.sleep(0.2)  # its own relay comes back from Redis and is skipped
    assert received == [{"type": "bot"}]
    assert await b.push_webchat("conv-9", {"type": "bot"}) == PushOutcome(1, relayed=True)


@needs_redis
async def test_a_message_from_another_deployment_is_dropped_and_the_subscriber_goes_on(
    clients: tuple[Redis, Redis], workers: tuple[RedisLiveHub, RedisLiveHub], prefix: str
) -> None:
    a, _ = workers
    received: list[dict[str, Any]] = []

    async def tab(frame: dict[str, Any]) -> None:
        received.append(frame)

    a.attach_webchat("conv-1", tab)
    stranger = RedisLiveHub(clients[1], Cipher("another-deployments-key-0123"), prefix=prefix)
    await stranger.push_webchat("conv-1", {"type": "bot", "text": "not for you"})
    await clients[1].publish(a.webchat_channel, b"not json")
    friend = RedisLiveHub(clients[1], Cipher(SECRET), prefix=prefix)
    await friend.push_webchat("conv-1", {"type": "bot", "text": "for you"})
    await _until(lambda: bool(received))
    assert received == [{"type": "bot", "text": "for you"}]


# --- the refill lock ---------------------------------------------------------------------------


class SlowEhr(InterleavingEhr):
    """The refill tests' fake without a duplicate check of its own, slow like a network EHR
    between reading the Tasks and creating one, so two requests that are not serialised
    both find no earlier Task."""

    async def refill_tasks(self, *, patient_id: str) -> list[RefillTask]:
        tasks = await super().refill_tasks(patient_id=patient_id)
        await asyncio.sleep(0.05)  # the answer on its way back
        return tasks

    async def request_refill(self, **kwargs: Any) -> RefillTask:
        await asyncio.sleep(0.05)  # the request on its way there
        return await super().request_refill(**kwargs)


async def _race(ehr: SlowEhr, locks: list[Any]) -> list[refills.RefillOutcome]:
    return await asyncio.gather(
        *(
            refills.request_refill(
                ehr=ehr,
                patient_id=PATIENT,
                medication_request_id="med-lisinopril",
                pharmacy=None,
                now=datetime.now(UTC),
                locks=lock,
            )
            for lock in locks
        )
    )


@needs_redis
async def test_two_workers_racing_for_one_prescription_create_one_refill_request(
    clients: tuple[Redis, Redis], prefix: str
) -> None:
    ehr = SlowEhr(clinic_records())
    cipher = Cipher(SECRET)
    a, b = (RedisRefillLocks(c, cipher, lease_s=10, wait_s=10, prefix=prefix) for c in clients)
    first, second = await _race(ehr, [a, b])
    assert len(ehr._all("Task")) == 1
    assert first.task.id == second.task.id
    assert sorted([first.created, second.created]) == [False, True]
    assert await clients[0].keys(f"{prefix}*") == []  # released
    assert PATIENT not in a.name(f"{PATIENT}/med-lisinopril")  # no record ids in Redis


async def test_without_a_shared_lock_two_workers_would_create_two() -> None:
    """The race above is real: two processes each with their own in-memory lock both create."""
    ehr = SlowEhr(clinic_records())
    await _race(ehr, [LocalRefillLocks(), LocalRefillLocks()])
    assert len(ehr._all("Task")) == 2


# --- wired by build_services, end to end through two apps ---------------------------------------


def _worker(settings: Settings, prefix: str) -> Services:
    """One hub worker's services as build_services wires them with REDIS_URL set, its live hub
    on this test's channels."""
    services = build_services(settings, rasa=FakeRasa(), safety_screen=chest_pain_screen)
    assert isinstance(services.live, RedisLiveHub)
    assert services.handoffs is not None and services.handoffs.live is services.live
    assert isinstance(services.refill_locks, RedisRefillLocks)
    assert services.redis is not None
    services.live = RedisLiveHub(services.redis, services.cipher, prefix=prefix)
    services.handoffs.live = services.live  # the hub and the console routes publish here
    return services


@pytest.fixture
def redis_settings(tmp_path: Path, prefix: str) -> Settings:
    """Settings of every worker: one database, one Redis."""
    settings = make_settings(tmp_path, redis_url=REDIS_URL)
    upgrade(settings.effective_database_url)
    return settings


@needs_redis
def test_a_clinicians_reply_on_one_worker_reaches_the_patients_tab_on_another(
    redis_settings: Settings, prefix: str
) -> None:
    a, b = _worker(redis_settings, prefix), _worker(redis_settings, prefix)
    with a.session_factory() as session:
        make_clinician(session)
    with (
        TestClient(create_app(redis_settings, a)) as patient_side,
        TestClient(create_app(redis_settings, b)) as console_side,
        open_chat(patient_side) as (ws, _, _),
    ):
        say(ws, {"type": "message", "text": "hello"})
        with a.session_factory() as session:
            conversation_id = session.scalars(select(Conversation.id)).one()
        handoff = escalate(console_side, conversation_id, "patient_request")
        sign_in(console_side)
        url = f"/console/api/handoffs/{handoff['id']}"
        assert console_side.post(f"{url}/claim").is_success
        reply = console_side.post(f"{url}/reply", json={"text": "Nurse Ann here"})
        assert reply.json() == {"sent": 1}
        pushed = receive_within(ws, WAIT_S)
    assert (pushed["author"], pushed["text"]) == ("clinician", "Nurse Ann here")
    stopped = [s.live for s in (a, b) if isinstance(s.live, RedisLiveHub)]
    assert len(stopped) == 2 and not any(live.listening for live in stopped)  # Services.close


@needs_redis
def test_a_patient_message_on_one_worker_reaches_the_console_stream_on_another(
    redis_settings: Settings, prefix: str
) -> None:
    a, b = _worker(redis_settings, prefix), _worker(redis_settings, prefix)
    with a.session_factory() as session:
        make_clinician(session)
    with (
        serve(redis_settings, a) as console_url,
        serve(redis_settings, b) as patient_url,
        httpx.Client(base_url=patient_url, timeout=10, headers=REST_HEADERS) as patient,
        httpx.Client(base_url=console_url, timeout=10) as console,
    ):
        hello = {"sender": "p-shared", "message": "hello"}
        assert patient.post("/channels/rest/webhook", json=hello).is_success
        with a.session_factory() as session:
            conversation_id = session.scalars(select(Conversation.id)).one()
        opened = patient.post(
            "/internal/handoffs",
            headers=SERVICE,
            json={"conversation_id": conversation_id, "reason": "patient_request"},
        ).json()
        login = {"email": "ann@clinic.example", "password": PASSWORD}
        assert console.post("/console/api/login", json=login).status_code == 200
        with console.stream("GET", "/console/api/events") as stream:
            received = events(stream.iter_lines())
            assert next(received)[0] == "ready"
            still = {"sender": "p-shared", "message": "still here"}
            assert patient.post("/channels/rest/webhook", json=still).is_success
            name, data = next(received)
    assert name == "message" and json.loads(data)["handoff_id"] == opened["id"]
    assert "still here" not in data


def receive_within(ws: WebSocketTestSession, timeout_s: float) -> Any:
    """The next frame, or a failure (the test client's receive alone would wait forever)."""
    frames: list[Any] = []
    reader = threading.Thread(target=lambda: frames.append(ws.receive_json()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not frames:
        pytest.fail(f"nothing arrived on the web chat socket within {timeout_s} s")
    return frames[0]


def serve(settings: Settings, services: Services) -> _Served:
    return _Served(create_app(settings, services))


class _Served:
    """The app on a real uvicorn in a thread (as conftest's backend_url), for streams."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                pytest.fail("the backend did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# --- without Redis: in memory, as before --------------------------------------------------------


def test_without_redis_everything_stays_in_memory(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    services = build_services(settings, rasa=FakeRasa())
    assert services.redis is None
    assert type(services.live) is LiveHub
    assert services.handoffs is not None and services.handoffs.live is services.live
    assert isinstance(services.refill_locks, LocalRefillLocks)
    assert isinstance(refill_locks_for(None, Cipher(SECRET), ehr_timeout_s=5), LocalRefillLocks)
    services.engine.dispose()


async def test_in_memory_events_and_pushes_reach_this_process_only() -> None:
    live = LiveHub()
    stream = live.subscribe()
    await live.start()
    await asyncio.to_thread(live.publish, {"type": "queue", "handoff_id": 1})
    assert await asyncio.wait_for(stream.get(), WAIT_S) == {"type": "queue", "handoff_id": 1}
    received: list[dict[str, Any]] = []

    async def tab(frame: dict[str, Any]) -> None:
        received.append(frame)

    live.attach_webchat("conv-1", tab)
    assert await live.push_webchat("conv-1", {"type": "bot"}) == PushOutcome(1, relayed=False)
    assert await live.push_webchat("conv-2", {"type": "bot"}) == PushOutcome(0, relayed=False)
    assert received == [{"type": "bot"}]
    await live.close()


async def test_in_memory_refill_locks_serialise_and_leave_nothing_behind() -> None:
    ehr = SlowEhr(clinic_records())
    locks = LocalRefillLocks()
    outcomes = await _race(ehr, [locks, locks, locks])
    assert len(ehr._all("Task")) == 1
    assert sorted(o.created for o in outcomes) == [False, False, True]
    assert len(locks) == 0


async def _until(condition: Any, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


@needs_redis
def test_two_deployments_on_one_redis_do_not_share_conversation_locks(tmp_path: Path) -> None:
    """Each deployment's keys start with its REDIS_PREFIX: the same conversation held by one
    deployment does not block the other, and the keys carry the prefix."""
    from backend.services import conversation_locks

    first = make_settings(
        tmp_path / "a", redis_url=REDIS_URL, redis_prefix=f"t{uuid.uuid4().hex[:8]}:"
    )
    second = make_settings(
        tmp_path / "b", redis_url=REDIS_URL, redis_prefix=f"t{uuid.uuid4().hex[:8]}:"
    )

    async def scenario() -> list[bytes]:
        redis = Redis.from_url(REDIS_URL)
        try:
            one, two = conversation_locks(first, redis), conversation_locks(second, redis)
            async with one.hold("c1"):
                async with asyncio.timeout(2):
                    async with two.hold("c1"):
                        keys = await redis.keys(f"{first.redis_prefix}*")
                        keys += await redis.keys(f"{second.redis_prefix}*")
                        return sorted(keys)
        finally:
            await redis.aclose()

    keys = asyncio.run(scenario())
    assert keys == sorted(
        [
            f"{first.redis_prefix}conversation:c1".encode(),
            f"{second.redis_prefix}conversation:c1".encode(),
        ]
    )


@pytest.mark.parametrize("prefix", ["", "has space:", "x" * 41, "semi;colon"])
def test_a_redis_prefix_that_could_collide_or_break_keys_is_refused(
    tmp_path: Path, prefix: str
) -> None:
    with pytest.raises(ValueError, match="redis_prefix"):
        make_settings(tmp_path, redis_prefix=prefix)
