"""The scaled profile (`make run-scaled`) on the real PostgreSQL and Redis: two hub workers,
two Rasa instances sharing a PostgreSQL tracker store and Rasa's Redis lock store.

A private stack of its own, started by the same supervisor: free ports, databases named for
this run (dropped at the end) and Redis database 15 (emptied before and after; the hub's and
Rasa's keys have fixed names, so a database of its own keeps them apart from anything else).
Each Rasa instance logs the requests it served (Sanic's access log), which shows that both
served turns of the same conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from redis import Redis
from redis.exceptions import RedisError

from backend.core.crypto import Cipher
from backend.hub.rasa_gateway import MESSAGE_PATH
from scripts.model_cache import model_path
from scripts.stack import StackConfig, Supervisor, free_port, start_stack
from scripts.stack_scaled import consecutive_free_ports, drop_databases, postgres
from scripts.tracker_index import INDEX_NAME
from tests.utils.e2e_chat import (
    OFFERS,
    REPLY_WAIT_S,
    STACK_SETTINGS,
    Outbox,
    RestChat,
    appointments,
    fresh_patients,
    verify_in_conversation,
)
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.rest_client import address as rest_address

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/15"
ENCRYPTION_KEY = "e2e-scaled-encryption-key-01"
RASA_TOKEN = "e2e-scaled-rasa-token-0123"
ASK_TO_BOOK = "I need to book a checkup with a family doctor as soon as possible"


@dataclass(frozen=True)
class Scaled:
    config: StackConfig
    supervisor: Supervisor
    log: io.StringIO
    ready_s: float  # start_stack's wall-clock time


def _flush_redis() -> None:
    with Redis.from_url(REDIS_URL, socket_connect_timeout=2) as redis:
        redis.flushdb()


def _ports_apart_from(taken: set[int], count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    model = model_path()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first (make test does)")
    try:
        _flush_redis()
    except (RedisError, OSError) as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is not reachable: {exc}")
    run = uuid.uuid4().hex[:10]
    rasa_port = consecutive_free_ports(2)
    backend, actions, ehr = _ports_apart_from({rasa_port, rasa_port + 1}, 3)
    var_dir: Path = tmp_path_factory.mktemp("scaled")
    config = StackConfig(
        var_dir=var_dir,
        model=model,
        backend_port=backend,
        rasa_port=rasa_port,
        actions_port=actions,
        ehr_port=ehr,
        profile="scaled",
        hub_workers=2,
        rasa_instances=2,
        postgres_url=POSTGRES_URL,
        backend_db=f"assistant_e2e_{run}",
        rasa_db=f"assistant_rasa_e2e_{run}",
        redis_url=REDIS_URL,
        rasa_access_log=True,
        env={
            "ENV": "development",
            "ENCRYPTION_KEY": ENCRYPTION_KEY,
            "RASA_TOKEN": RASA_TOKEN,
            "SERVICE_TOKEN": "e2e-scaled-service-token-01",
            "ACTIONS_TOKEN": "e2e-scaled-actions-token-01",
            **STACK_SETTINGS,
            "OUTREACH_DEFAULT_CONSENTS": "[]",  # outreach reaches nobody here
        },
    )
    log = io.StringIO()
    supervisor = Supervisor(config, out=log)
    started = time.monotonic()
    try:
        # Two Rasa instances load TensorFlow and the model at once: ready in 126-271 s here
        # while other test runs shared the 2 cores (docs/concurrency.md, "Scaled profile").
        start_stack(supervisor, timeout_s=600)
    except RuntimeError as exc:
        with contextlib.suppress(RuntimeError):  # PostgreSQL itself may be what failed
            drop_databases(POSTGRES_URL, [config.backend_db, config.rasa_db])
        _flush_redis()
        pytest.fail(f"the scaled stack did not start: {exc}\n{log.getvalue()[-4000:]}")
    ready_s = time.monotonic() - started
    print(f"\nscaled stack (2 hub workers, 2 Rasa instances) ready in {ready_s:.1f} s")
    try:
        yield Scaled(config, supervisor, log, ready_s)
    finally:
        supervisor.stop()
        (var_dir / "stack.log").write_text(log.getvalue())  # kept with the run's other files
        drop_databases(POSTGRES_URL, [config.backend_db, config.rasa_db])
        _flush_redis()


def served(log: str, instance: str) -> int:
    """Messages the Rasa instance answered, from its access log (its lines carry its name):
    `rasa-2  | [...] - (sanic.access)[INFO][...]: POST http://127.0.0.1:<port>/webhooks/...`."""
    message = re.compile(rf"^{instance} .*\(sanic\.access\).*: POST \S+{MESSAGE_PATH} ")
    return sum(1 for line in log.splitlines() if message.search(line))


def conversation_id(config: StackConfig, sender: str) -> str:
    """The opaque id under which Rasa knows the REST sender (hub database, by keyed hash)."""
    address_hash = Cipher(ENCRYPTION_KEY).address_hash("rest", rest_address(sender))
    url = postgres(config).postgres_url(config.backend_db)
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT id FROM conversations WHERE channel = 'rest' AND address_hash = %s",
            (address_hash,),
        ).fetchone()
    assert row is not None, f"no conversation for {sender}"
    return str(row[0])


def tracker(base_url: str, conversation: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/conversations/{conversation}/tracker",
        params={"token": RASA_TOKEN, "include_events": "ALL"},
        timeout=30,
    )
    response.raise_for_status()
    return dict(response.json())


def test_one_conversation_served_by_both_rasa_instances_keeps_its_slots_and_order(
    scaled: Scaled,
) -> None:
    config = scaled.config
    [patient] = asyncio.run(fresh_patients(config, 1))
    sender = f"e2e-scaled-{uuid.uuid4().hex[:8]}"
    chat = RestChat(config, sender)
    before = {name: served(scaled.log.getvalue(), name) for name in ("rasa-1", "rasa-2")}

    chat.say(ASK_TO_BOOK, expect="last name")
    offered = verify_in_conversation(chat, patient, Outbox(config), by_phone=False)
    assert OFFERS.search(offered), offered
    chat.pick(0, expect=re.compile(r"\bBook .+\?"))
    chat.say("yes", expect="You're booked")
    assert any(a.status == "booked" for a in appointments(config, patient.id))

    # Both instances answered turns of this one conversation (7 turns, spread by the hub).
    after = {name: served(scaled.log.getvalue(), name) for name in ("rasa-1", "rasa-2")}
    assert all(after[name] > before[name] for name in after), (before, after)

    # Each instance reads the same conversation from the shared tracker store: the same
    # events, in the order the patient wrote, with the identity answers in their slots.
    conversation = conversation_id(config, sender)
    first, second = (tracker(f"http://127.0.0.1:{p}", conversation) for p in config.rasa_ports)
    assert first["events"] == second["events"]
    assert first["slots"] == second["slots"]
    said = [e["text"] for e in first["events"] if e["event"] == "user"]
    assert said[0] == ASK_TO_BOOK and said[1:3] == [patient.summary.family, patient.summary.given]
    assert said[3] == patient.birth_date_text and said[-1] == "yes"
    # The identity form filled its slots turn by turn, whichever instance served the turn.
    filled = [(e["name"], e["value"]) for e in first["events"] if e["event"] == "slot"]
    answers = [
        ("identity_family_name", patient.summary.family),
        ("identity_given_name", patient.summary.given),
        ("identity_birth_date", patient.birth_date_text),
    ]
    assert all(answer in filled for answer in answers), filled
    assert sorted(answers, key=filled.index) == answers, filled


def test_the_tracker_store_on_postgres_has_the_session_start_index(scaled: Scaled) -> None:
    config = scaled.config
    with psycopg.connect(postgres(config).postgres_url(config.rasa_db)) as db:
        row = db.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' AND indexname = %s",
            (INDEX_NAME,),
        ).fetchone()
    assert row is not None and '(sender_id, type_name, "timestamp")' in row[0], row


def test_messages_to_both_hub_workers_are_answered_and_healthz_reports_the_loop(
    scaled: Scaled,
) -> None:
    config = scaled.config
    log = scaled.log.getvalue()
    started = [
        line
        for line in log.splitlines()
        if line.startswith("backend ") and "Application startup complete." in line
    ]
    assert len(started) == 2, started  # each worker started its app
    manager = scaled.supervisor.children["backend"].pid
    children = Path(f"/proc/{manager}/task/{manager}/children").read_text().split()
    assert len(children) >= 2, children  # uvicorn's two worker processes, alive

    def hello(n: int) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{config.backend_url}/channels/rest/webhook",
            json={"sender": f"e2e-scaled-hello-{n}", "message": "hello"},
            headers=REST_HEADERS,
            timeout=REPLY_WAIT_S,
        )
        assert response.status_code == 200, response.text
        return list(response.json())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(hello, range(6)))
    assert all(any(reply.get("text") for reply in replies) for replies in answers), answers

    response = httpx.get(f"{config.backend_url}/healthz", timeout=15)
    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] == "ok", health
    assert all(dependency["ok"] for dependency in health["dependencies"].values()), health
    loop = health["event_loop"]
    assert loop["ok"] is True and loop["turns_refused"] == 0
    assert {"lag_ms", "recent_max_lag_ms", "max_lag_ms", "turns_in_flight"} <= set(loop)
