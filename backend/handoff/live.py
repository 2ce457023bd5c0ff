"""Live updates inside the backend process: console streams and patients' web chat sockets.

The console's event stream (server-sent events) subscribes here; the hub publishes when a
patient writes during a hand-off and the console routes publish when the queue changes.
Events carry ids only, never patient text: the console fetches the transcript itself, through
its authenticated API. Publishing is safe from any thread (sync routes run in a thread pool).

`LiveHub` reaches the streams and sockets of this process only. With several hub workers
(`REDIS_URL` set), `backend/handoff/live_redis.py` relays the same calls to the other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

WebchatPush = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class PushOutcome:
    """What `push_webchat` knows when it returns.

    `tabs_here`: the patient's tabs on this worker that took the frame. `relayed`: the frame
    was also handed to Redis for the tabs other workers hold, whose number is not known here
    (they deliver it a moment later). With neither, no tab was open: the message is in the
    transcript, which the widget replays as `history` when the patient comes back.
    """

    tabs_here: int
    relayed: bool = False


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]


@dataclass
class LiveHub:
    """Fan-out of console events, and the open web chat sockets by conversation id."""

    max_queued: int = 200
    _subscribers: list[_Subscriber] = field(default_factory=list)
    _webchat: dict[str, list[WebchatPush]] = field(default_factory=dict)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.max_queued)
        self._subscribers.append(_Subscriber(asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers = [s for s in self._subscribers if s.queue is not queue]

    @property
    def subscriber_count(self) -> int:
        """Console streams open on this worker."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Called once the event loop runs (app start-up); nothing to do within one process."""

    async def close(self) -> None:
        """Called at shut-down (`Services.close`); nothing to do within one process."""

    def publish(self, event: dict[str, Any]) -> None:
        """Hand `event` to every console stream; a stream that fell behind loses it."""
        self._fan_out(event)

    def _fan_out(self, event: dict[str, Any]) -> None:
        """Hand `event` to the console streams of this worker (from any thread)."""
        for subscriber in list(self._subscribers):
            with contextlib.suppress(RuntimeError):  # its loop has closed
                subscriber.loop.call_soon_threadsafe(_offer, subscriber.queue, event)

    def attach_webchat(self, conversation_id: str, push: WebchatPush) -> None:
        self._webchat.setdefault(conversation_id, []).append(push)

    def detach_webchat(self, conversation_id: str, push: WebchatPush) -> None:
        # Bound methods are new objects on each access: compare with ==, not `is`.
        pushes = [p for p in self._webchat.get(conversation_id, []) if p != push]
        if pushes:
            self._webchat[conversation_id] = pushes
        else:
            self._webchat.pop(conversation_id, None)

    async def push_webchat(self, conversation_id: str, frame: dict[str, Any]) -> PushOutcome:
        """Send `frame` to every open tab of the conversation (callers need not look at the
        outcome: a patient with no tab open sees the message in the history later)."""
        return PushOutcome(await self._push_here(conversation_id, frame))

    async def _push_here(self, conversation_id: str, frame: dict[str, Any]) -> int:
        """Send `frame` to the conversation's tabs on this worker; how many received it."""
        sent = 0
        for push in list(self._webchat.get(conversation_id, [])):
            try:
                await push(frame)
                sent += 1
            except Exception:  # a tab that closed mid-send; the others still get it
                self.detach_webchat(conversation_id, push)
        return sent


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(event)
