"""One turn at a time per conversation, across every hub worker.

Two messages of one conversation are answered in arrival order and never interleaved (Rasa's
tracker, the offered buttons and the session counters all assume it); different
conversations run in parallel. The lock is keyed by the keyed hash of the channel address,
known before the database is read, so the whole turn (conversation read included) is inside.

- `LocalConversationLocks`: one backend process (the embedded default); asyncio's locks
  wake waiters in arrival order.
- `RedisConversationLocks`: several hub workers (the scaled profile), redis-py's lock. A
  lock expires after `lease_s`, so a worker killed mid-turn does not hold the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError

from backend.hub.admission import Busy


class ConversationLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Exclusive use of the conversation `key` for one turn."""
        ...


class LocalConversationLocks:
    """Per-conversation asyncio locks, dropped once nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RedisConversationLocks:
    """Per-conversation locks in Redis, shared by every hub worker."""

    def __init__(self, redis: Redis, *, lease_s: float, wait_s: float, retry_after_s: int) -> None:
        self._redis = redis
        self._lease_s = lease_s  # longer than any turn (Rasa's timeout and then some)
        self._wait_s = wait_s
        self._retry_after_s = retry_after_s

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._redis.lock(
            f"hub:conversation:{key}",
            timeout=self._lease_s,
            sleep=0.01,
            blocking_timeout=self._wait_s,
        )
        if not await lock.acquire():
            raise Busy(self._retry_after_s)
        try:
            yield
        finally:
            # The lease may have run out during a very long turn; another may hold it now.
            with contextlib.suppress(LockError):
                await lock.release()
