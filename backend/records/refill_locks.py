"""One refill request at a time per prescription: within one process, or across hub workers.

`backend/records/refills.py` looks for an earlier request and creates the Task while holding
the prescription's lock, so two racing requests end with one Task, the second finding it.

- `LocalRefillLocks`: one backend process (no `REDIS_URL`); asyncio locks, dropped once nobody
  holds or waits for them.
- `RedisRefillLocks`: several hub workers, redis-py's `Lock`. Its name is a keyed hash of the
  patient and prescription, so no record id appears in Redis; its lease outlasts the slowest
  EHR exchange it covers and then expires, so a worker killed mid-request blocks nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError

from backend.core.crypto import Cipher

DEFAULT_PREFIX = "hub:"  # the same namespace as the conversation locks
# EHR calls made under the lock at worst: the patient's Tasks (a search, retried up to twice,
# and its audit), then the create (the prescription read and the open-Task search, each
# retried up to twice, an audit, the write). Each waits at most EHR_TIMEOUT_S.
EHR_CALLS_UNDER_LOCK = 12
LEASE_MARGIN_S = 10.0


class RefillLocks(Protocol):
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Exclusive use of the prescription `key` ("patient/prescription") for one request."""
        ...


class RefillLockTimeout(TimeoutError):
    """The prescription stayed locked by other requests for longer than the wait."""


class LocalRefillLocks:
    """Per-prescription asyncio locks of this process.

    Counted per user, so a lock is dropped only once nobody holds or waits for it (a lock
    dropped while a woken waiter has not yet taken it would let a third request in beside it).
    """

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
                del self._locks[key]  # also: no lock outlives the event loop it belongs to
            else:
                self._locks[key] = (lock, users - 1)


class RedisRefillLocks:
    """Per-prescription locks in Redis, shared by every hub worker."""

    def __init__(
        self,
        redis: Redis,
        cipher: Cipher,
        *,
        lease_s: float,
        wait_s: float,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._redis = redis
        self._cipher = cipher
        self._lease_s = lease_s
        self._wait_s = wait_s
        self._prefix = prefix

    def name(self, key: str) -> str:
        """The Redis key of the lock: keyed, so patient and prescription ids stay out of Redis."""
        return f"{self._prefix}refill:{self._cipher.address_hash('refill-lock', key)}"

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._redis.lock(
            self.name(key), timeout=self._lease_s, sleep=0.05, blocking_timeout=self._wait_s
        )
        if not await lock.acquire():
            raise RefillLockTimeout("another refill request for this prescription is running")
        try:
            yield
        finally:
            # The lease may have run out during a very slow EHR; another may hold it now.
            with contextlib.suppress(LockError):
                await lock.release()


def refill_locks_for(redis: Redis | None, cipher: Cipher, *, ehr_timeout_s: float) -> RefillLocks:
    """In memory for one backend process; in Redis when several hub workers share the load."""
    if redis is None:
        return LocalRefillLocks()
    lease_s = ehr_timeout_s * EHR_CALLS_UNDER_LOCK + LEASE_MARGIN_S
    # Waiting as long as the lease: a request gets the lock at the latest when the lease of
    # one that is stuck (or whose worker died) runs out, unless others keep taking it first.
    return RedisRefillLocks(redis, cipher, lease_s=lease_s, wait_s=lease_s)
