"""Console events and web chat pushes across several hub workers, through Redis pub/sub.

With `REDIS_URL` set, a clinician's event stream and a patient's web chat socket may be open on
another worker than the one that publishes. `RedisLiveHub` keeps `LiveHub`'s local fan-out
(this worker's streams and tabs get everything at once, as in one process, and still do when
Redis is down) and also publishes on two Redis channels. Each worker runs one subscriber task
(redis-py's `PubSub`) that hands what the other workers published to its own streams and tabs;
every message names the worker it came from, so none is delivered twice.

- `<prefix>live:console`: console events, ids only, as JSON.
- `<prefix>live:webchat`: web chat frames, which hold a clinician's reply. The conversation id
  and frame are encrypted with the backend's `Cipher` before they go to Redis, so no patient
  text (nor which conversation it belongs to) crosses Redis in clear.

Delivery is best effort, as within one process: what is published while a worker is not
subscribed (Redis restarting) does not reach that worker's streams and tabs. The console
catches up at its 30-second queue refresh; a tab shows the message in its history when it
reconnects (the transcript is in the database either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from backend.core.crypto import Cipher, DecryptionError
from backend.core.keyed_locks import DEFAULT_PREFIX
from backend.handoff.live import LiveHub, PushOutcome, WebchatPush

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0  # start-up waits this long for Redis to confirm the subscription
RESUBSCRIBE_S = 1.0  # pause before subscribing again once the connection was lost
PUSH_TIMEOUT_S = 5.0  # one stalled tab must not hold up the relay for every other one
_REDIS_DOWN = (RedisError, OSError)


class RedisLiveHub(LiveHub):
    """`LiveHub` whose events and pushes also reach the other hub workers, through Redis."""

    def __init__(
        self, redis: Redis, cipher: Cipher, *, prefix: str = DEFAULT_PREFIX, max_queued: int = 200
    ) -> None:
        super().__init__(max_queued=max_queued)
        self._redis = redis
        self._cipher = cipher
        self.console_channel = f"{prefix}live:console"
        self.webchat_channel = f"{prefix}live:webchat"
        self._origin = uuid.uuid4().hex  # this worker: it skips what it published itself
        # The loop that owns the Redis client (redis.asyncio connections belong to one loop):
        # publishing from a worker thread hands the send over to it.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._sending: set[asyncio.Task[bool]] = set()  # held so they are not collected early

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe, and wait until Redis confirms so nothing published afterwards is missed.

        If Redis does not answer in time the worker starts anyway: its own streams and tabs
        work, and the subscriber keeps trying in the background.
        """
        self._listen_on(asyncio.get_running_loop())
        try:
            await asyncio.wait_for(self._subscribed.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            logger.warning("live events: no Redis subscription yet, other workers not heard")

    async def close(self) -> None:
        """Let relays in flight reach Redis, then stop the subscriber (before the client closes)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=PUSH_TIMEOUT_S)
        listener, self._listener, self._loop = self._listener, None, None
        if listener is None:
            return
        listener.cancel()
        if listener.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        # An asyncio.Event belongs to the loop that first waited on it; a later start() may
        # run on another loop (an app started again in tests).
        self._subscribed = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Subscribed to the other workers' events right now."""
        return self._subscribed.is_set()

    def _listen_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the worker's one subscriber task, on the first call from the event loop."""
        if self._loop is None:
            self._loop = loop
        if self._listener is None and loop is self._loop:
            self._listener = loop.create_task(self._listen(), name="live-events-subscriber")

    # --- console events -----------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue = super().subscribe()
        self._listen_on(asyncio.get_running_loop())  # started lazily if start() was not called
        return queue

    def publish(self, event: dict[str, Any]) -> None:
        """This worker's streams at once, the other workers' through Redis (from any thread)."""
        self._fan_out(event)
        self._relay(self.console_channel, json.dumps({"origin": self._origin, "event": event}))

    def _relay(self, channel: str, payload: str) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None  # a worker thread: a sync route, database work
        if self._loop is None and running is not None:
            self._loop = running
        loop = self._loop
        if loop is None:
            logger.warning("live events: not started, an event did not reach other workers")
        elif running is loop:
            self._send_soon(channel, payload)
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                loop.call_soon_threadsafe(self._send_soon, channel, payload)

    def _send_soon(self, channel: str, payload: str) -> None:
        """On the client's loop: publish without making the caller wait for Redis."""
        task = asyncio.get_running_loop().create_task(self._send(channel, payload))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, channel: str, payload: str) -> bool:
        try:
            await self._redis.publish(channel, payload)
        except _REDIS_DOWN as exc:
            logger.warning("live events: not relayed to other workers (%s)", type(exc).__name__)
            return False
        return True

    # --- web chat -----------------------------------------------------------------------------

    def attach_webchat(self, conversation_id: str, push: WebchatPush) -> None:
        super().attach_webchat(conversation_id, push)
        with contextlib.suppress(RuntimeError):  # no running loop: start() subscribes later
            self._listen_on(asyncio.get_running_loop())

    async def push_webchat(self, conversation_id: str, frame: dict[str, Any]) -> PushOutcome:
        """Send `frame` to the conversation's tabs on this worker, and through Redis to the
        tabs other workers hold.

        How many tabs the other workers have is not knowable here without waiting for each of
        them, so the outcome counts this worker's tabs and says whether the frame was relayed.
        No caller depends on the count: `senders.deliver_to_conversation` reports the replies
        as handed over either way, since the message is already in the transcript and a tab
        that was not open shows it in its history.
        """
        here = await self._push_here(conversation_id, frame)
        sealed = self._cipher.encrypt(
            json.dumps({"conversation_id": conversation_id, "frame": frame})
        )
        relayed = await self._send(
            self.webchat_channel, json.dumps({"origin": self._origin, "sealed": sealed})
        )
        return PushOutcome(here, relayed=relayed)

    # --- the subscriber -----------------------------------------------------------------------

    async def _listen(self) -> None:
        """Subscribe, hand on what other workers publish, subscribe again after Redis went away.

        redis-py reconnects and resubscribes by itself within its retry policy; this loop
        covers longer outages.
        """
        channels = (self.console_channel, self.webchat_channel)
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(*channels)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe" and message["data"] == len(channels):
                        self._subscribed.set()
                    elif message["type"] == "message":
                        await self._received(_text(message["channel"]), message["data"])
            except _REDIS_DOWN as exc:
                logger.warning("live events: Redis subscription lost (%s)", type(exc).__name__)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(*_REDIS_DOWN):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_S)

    async def _received(self, channel: str, data: bytes | str) -> None:
        try:
            body = json.loads(data)
            if body["origin"] == self._origin:
                return  # this worker's own streams and tabs were served when it published
            if channel == self.console_channel:
                self._fan_out(body["event"])
            elif channel == self.webchat_channel and self._webchat:
                opened = json.loads(self._cipher.decrypt(body["sealed"]))
                await asyncio.wait_for(
                    self._push_here(opened["conversation_id"], opened["frame"]), PUSH_TIMEOUT_S
                )
        except (ValueError, KeyError, TypeError, DecryptionError, TimeoutError) as exc:
            # Not ours (another deployment, another ENCRYPTION_KEY) or a stalled tab: the
            # subscriber carries on with the next message.
            logger.warning(
                "live events: a message on %s was dropped (%s)", channel, type(exc).__name__
            )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def live_hub_for(redis: Redis | None, cipher: Cipher, *, prefix: str = DEFAULT_PREFIX) -> LiveHub:
    """In memory for one backend process; relayed through Redis when several workers share it."""
    return LiveHub() if redis is None else RedisLiveHub(redis, cipher, prefix=prefix)
