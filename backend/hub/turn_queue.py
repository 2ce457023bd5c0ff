"""Phone turns (SMS, WhatsApp, Telegram) answered from a job queue, not in the webhook.

A provider's webhook is acknowledged as soon as its message is stored (`Hub.accept`); the
turn (screen, Rasa, replies) runs in a queue worker, and the replies go out through the
provider's API. Twilio and Telegram never wait on Rasa, and a burst of replies to a reminder
queues up instead of holding thousands of webhooks open.

- `ArqTurnQueue` (REDIS_URL set; the scaled profile): arq's Redis queue, whose worker runs
  inside every hub worker. A job stays queued until it finishes, so a worker killed mid-turn
  leaves it to another (or to itself after a restart) once its in-progress lease expires.
- `InProcessTurnQueue` (no Redis; the embedded default): the turn runs as a task of the one
  backend process.

Either way the stored message is the source of truth: at start-up, messages stored but never
answered are queued again (`recover`), and `Hub.answer_stored` answers a message once (it is
marked answered in the same transaction that logs the replies), so a retried job answers
nothing twice. A worker killed after Rasa answered but before the replies were logged asks
Rasa again; a worker killed after logging but before the provider took the replies loses
those replies (docs/concurrency.md, "Phone turns").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from arq import Retry
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker, func
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Message, utcnow
from backend.hub.rasa_gateway import AssistantUnavailable

logger = logging.getLogger(__name__)

JOB_NAME = "answer_phone_message"
QUEUE_NAME = "hub:phone-turns"
# How far back start-up looks for stored messages never answered (older ones are stale: the
# patient has been told nothing for a day and will have written again or called).
RECOVER_WINDOW = timedelta(hours=24)
PHONE_CHANNELS = ("sms", "whatsapp", "telegram")

# Answers one stored message: raises AssistantUnavailable while Rasa is down.
AnswerTurn = Callable[[int, bool], Awaitable[None]]


class TurnQueue(Protocol):
    async def start(self, answer: AnswerTurn) -> None:
        """Begin running queued turns with `answer(message_id, last_try)`."""
        ...

    async def enqueue(self, message_id: int) -> None: ...

    async def settle(self) -> None:
        """Wait until every queued turn has run (tests, shutdown)."""
        ...

    async def stop(self) -> None: ...


class InProcessTurnQueue:
    """Turns as tasks of this process, retried a few times while Rasa is down."""

    def __init__(self, *, tries: int = 4, retry_delay_s: float = 5.0) -> None:
        self._answer: AnswerTurn | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tries = tries
        self._retry_delay_s = retry_delay_s

    async def start(self, answer: AnswerTurn) -> None:
        self._answer = answer

    async def enqueue(self, message_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self._run(message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, message_id: int) -> None:
        assert self._answer is not None, "start() the queue before enqueuing"
        for attempt in range(1, self._tries + 1):
            try:
                await self._answer(message_id, attempt == self._tries)
                return
            except AssistantUnavailable:
                await asyncio.sleep(self._retry_delay_s * attempt)
            except Exception:
                logger.exception("phone turn for message %s failed", message_id)
                return

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        await self.settle()


class ArqTurnQueue:
    """arq on Redis: every hub worker enqueues and every hub worker runs turns."""

    def __init__(
        self,
        redis_url: str,
        *,
        queue_name: str = QUEUE_NAME,
        socket_timeout_s: float = 5.0,
        job_timeout_s: float,
        max_jobs: int,
        tries: int = 4,
        retry_delay_s: float = 5.0,
        poll_delay_s: float = 0.05,
    ) -> None:
        self._settings = RedisSettings.from_dsn(redis_url)
        self._settings.conn_timeout = max(1, round(socket_timeout_s))
        self._queue_name = queue_name
        self._job_timeout_s = job_timeout_s
        self._max_jobs = max_jobs
        self._tries = tries
        self._retry_delay_s = retry_delay_s
        self._poll_delay_s = poll_delay_s
        self._pool: ArqRedis | None = None
        self._worker: Worker | None = None
        self._running: asyncio.Task[None] | None = None

    async def start(self, answer: AnswerTurn) -> None:
        tries, delay = self._tries, self._retry_delay_s

        async def answer_phone_message(ctx: dict[str, Any], message_id: int) -> None:
            last_try = ctx["job_try"] >= tries
            try:
                await answer(message_id, last_try)
            except AssistantUnavailable as exc:
                raise Retry(defer=delay * ctx["job_try"]) from exc

        self._pool = await create_pool(self._settings, default_queue_name=self._queue_name)
        self._worker = Worker(
            functions=[func(answer_phone_message, name=JOB_NAME, timeout=self._job_timeout_s)],
            redis_pool=self._pool,
            queue_name=self._queue_name,
            max_jobs=self._max_jobs,
            max_tries=tries,
            poll_delay=self._poll_delay_s,
            keep_result=3600,  # a job id finished within the hour is not run again
            handle_signals=False,  # uvicorn owns the process's signals
        )
        self._running = asyncio.get_running_loop().create_task(self._worker.async_run())

    async def enqueue(self, message_id: int) -> None:
        assert self._pool is not None, "start() the queue before enqueuing"
        # The job id makes enqueuing idempotent: a retried webhook or a recovery scan that
        # finds a queued or running turn adds nothing.
        await self._pool.enqueue_job(JOB_NAME, message_id, _job_id=f"turn:{message_id}")

    async def settle(self, *, within_s: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self._pool is not None and loop.time() < deadline:
            queued = await self._pool.zcard(self._queue_name)
            running = self._worker is not None and bool(self._worker.tasks)
            if not queued and not running:
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()


def unanswered_phone_messages(session: Session) -> list[int]:
    """Patient messages from phone channels stored within the window but never answered."""
    since = utcnow() - RECOVER_WINDOW
    return list(
        session.scalars(
            select(Message.id)
            .where(
                Message.direction == "in",
                Message.handled_at.is_(None),
                Message.channel.in_(PHONE_CHANNELS),
                Message.created_at >= since,
            )
            .order_by(Message.id)
        )
    )
