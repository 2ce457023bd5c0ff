"""A hub worker SIGKILLed mid-turn loses nothing: on the real PostgreSQL and Redis, the
queued turn is run again by the next worker, Rasa processes the message once (the answer it
gave the dead worker is read from its tracker), and the patient is answered once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from redis import Redis
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.db.migrate import upgrade
from backend.db.models import Message
from backend.hub.rasa_gateway import MESSAGE_PATH
from scripts.stack import ROOT, free_port
from tests.utils.twilio_channel import BASE, TOKEN, inbound_form
from tests.utils.twilio_double import form_body, sign

pytestmark = pytest.mark.postgres
REDIS_URL = "redis://127.0.0.1:6379/13"


class HangingRasa:
    """Rasa's REST channel and tracker, in a thread: the first message is processed (its
    answer is in the tracker) but its HTTP answer never comes, as when the worker waiting
    for it is killed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.processed: list[str] = []
        self.events: dict[str, list[dict[str, object]]] = {}
        self._ready = threading.Event()
        self._release = threading.Event()

    def start(self) -> HangingRasa:
        threading.Thread(target=self._serve, daemon=True).start()
        assert self._ready.wait(10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        app = web.Application()
        app.router.add_post(MESSAGE_PATH, self._message)
        app.router.add_get("/conversations/{cid}/tracker", self._tracker)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._ready.set()
        await asyncio.Event().wait()  # serves until the test process ends (daemon thread)

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, text = body["sender"], body["message"]
        self.processed.append(text)
        answer = f"echo: {text}"
        now = time.time()
        self.events.setdefault(sender, []).extend(
            [
                {"event": "user", "timestamp": now, "text": text},
                {"event": "bot", "timestamp": now, "text": answer, "data": {}},
            ]
        )
        if len(self.processed) == 1:
            await asyncio.sleep(3600)  # the answer never reaches the (killed) worker
        return web.json_response([{"recipient_id": sender, "text": answer}])

    async def _tracker(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        return web.json_response({"sender_id": cid, "events": self.events.get(cid, [])})


@pytest.fixture
def redis_db() -> Iterator[None]:
    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
    client.flushdb()
    yield
    client.flushdb()
    client.close()


def _start_worker(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait_until(condition: object, *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_a_worker_killed_mid_turn_leaves_the_message_to_the_next_answered_once(
    tmp_path: Path, postgres_url: str, redis_db: None
) -> None:
    upgrade(postgres_url)
    rasa = HangingRasa().start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RASA", "DATABASE"))},
        "ENV": "test",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS_URL,
        "ENCRYPTION_KEY": "kill-test-encryption-key-0123",
        "SERVICE_TOKEN": "kill-test-service-token-0123",
        "RASA_TOKEN": "kill-test-rasa-token-012345",
        "RASA_URL": rasa.url,
        "RASA_URLS": "",
        # A short turn, so the dead worker's lease on the job runs out soon.
        "RASA_TIMEOUT_S": "2",
        "EHR_TIMEOUT_S": "0.25",
        "EHR_BASE_URL": "http://127.0.0.1:9/fhir",
        "ACTIONS_URL": "http://127.0.0.1:9",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": BASE,
    }
    log = tmp_path / "workers.log"
    port = free_port()
    first = _start_worker(env, port, log)
    try:
        _wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/livez"), within_s=60, what="worker 1"
        )
        form = inbound_form("hello")
        response = httpx.post(
            f"http://127.0.0.1:{port}/channels/twilio/sms",
            content=form_body(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(TOKEN, BASE + "/channels/twilio/sms", form),
            },
            timeout=10,
        )
        assert response.status_code == 200  # acknowledged before Rasa answered
        _wait_until(lambda: rasa.processed == ["hello"], within_s=30, what="Rasa to get it")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second_port = free_port()
    second = _start_worker(env, second_port, log)
    engine = create_engine(postgres_url)
    try:
        _wait_until(
            lambda: _answered(engine), within_s=120, what=f"the turn to be answered ({log})"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    with Session(engine) as session:
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
    engine.dispose()

    assert rasa.processed == ["hello"]  # Rasa processed it once
    assert len(outbound) == 1  # and the patient was answered once


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _answered(engine: object) -> bool:
    with Session(engine) as session:  # type: ignore[arg-type]
        handled = session.scalars(select(Message.handled_at).where(Message.direction == "in")).all()
    return bool(handled) and all(at is not None for at in handled)
