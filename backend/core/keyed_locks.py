"""Exclusive use of a key (a conversation, a prescription): in one process, or across workers.

- `LocalKeyedLocks`: asyncio locks of this process, woken in arrival order, counted per user
  so a lock is dropped only once nobody holds or waits for it (a lock dropped while a woken
  waiter has not yet taken it would let a third user in beside it; and no lock outlives the
  event loop it belongs to).
- `RedisKeyedLocks`: redis-py's lock, shared by every hub worker. It expires after its lease,
  so a worker killed while holding one blocks nobody for longer than that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError

# What every Redis key, channel and queue name starts with unless REDIS_PREFIX says otherwise
# (the default of `Settings.redis_prefix`).
DEFAULT_PREFIX = "hub:"


class KeyedLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Exclusive use of `key` until the block ends."""
        ...


class LocalKeyedLocks:
    """Per-key asyncio locks of this process."""

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


class RedisKeyedLocks:
    """Per-key locks in Redis; `name` makes a key a Redis key, `timed_out` the error raised
    when the lock stayed taken for longer than `wait_s`."""

    def __init__(
        self,
        redis: Redis,
        *,
        name: Callable[[str], str],
        lease_s: float,
        wait_s: float,
        poll_s: float,
        timed_out: Callable[[], Exception],
    ) -> None:
        self._redis = redis
        self.name = name
        self._lease_s = lease_s
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._timed_out = timed_out

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._redis.lock(
            self.name(key),
            timeout=self._lease_s,
            sleep=self._poll_s,
            blocking_timeout=self._wait_s,
        )
        if not await lock.acquire():
            raise self._timed_out()
        try:
            yield
        finally:
            # The lease may have run out during a very long hold; another may hold it now.
            with contextlib.suppress(LockError):
                await lock.release()
