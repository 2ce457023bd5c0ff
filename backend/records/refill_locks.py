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

from redis.asyncio import Redis

from backend.core.crypto import Cipher
from backend.core.keyed_locks import DEFAULT_PREFIX, KeyedLocks, LocalKeyedLocks, RedisKeyedLocks

# EHR calls made under the lock at worst: the patient's Tasks (a search, retried up to twice,
# and its audit), then the create (the prescription read and the open-Task search, each
# retried up to twice, an audit, the write). Each waits at most EHR_TIMEOUT_S.
EHR_CALLS_UNDER_LOCK = 12
LEASE_MARGIN_S = 10.0


RefillLocks = KeyedLocks  # hold("patient/prescription") for one refill request


class RefillLockTimeout(TimeoutError):
    """The prescription stayed locked by other requests for longer than the wait."""


class LocalRefillLocks(LocalKeyedLocks):
    """Per-prescription asyncio locks of this process."""


class RedisRefillLocks(RedisKeyedLocks):
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
        def name(key: str) -> str:
            # Keyed, so patient and prescription ids stay out of Redis.
            return f"{prefix}refill:{cipher.address_hash('refill-lock', key)}"

        super().__init__(
            redis,
            name=name,
            lease_s=lease_s,
            wait_s=wait_s,
            poll_s=0.05,
            timed_out=lambda: RefillLockTimeout(
                "another refill request for this prescription is running"
            ),
        )


def refill_locks_for(
    redis: Redis | None, cipher: Cipher, *, ehr_timeout_s: float, prefix: str = DEFAULT_PREFIX
) -> RefillLocks:
    """In memory for one backend process; in Redis when several hub workers share the load."""
    if redis is None:
        return LocalRefillLocks()
    lease_s = ehr_timeout_s * EHR_CALLS_UNDER_LOCK + LEASE_MARGIN_S
    # Waiting as long as the lease: a request gets the lock at the latest when the lease of
    # one that is stuck (or whose worker died) runs out, unless others keep taking it first.
    return RedisRefillLocks(redis, cipher, lease_s=lease_s, wait_s=lease_s, prefix=prefix)
