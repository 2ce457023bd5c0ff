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

from redis.asyncio import Redis

from backend.core.keyed_locks import DEFAULT_PREFIX, KeyedLocks, LocalKeyedLocks, RedisKeyedLocks
from backend.hub.admission import Busy

ConversationLocks = KeyedLocks


class LocalConversationLocks(LocalKeyedLocks):
    """Per-conversation asyncio locks, dropped once nobody holds or waits for them."""


class RedisConversationLocks(RedisKeyedLocks):
    """Per-conversation locks in Redis, shared by every hub worker; a conversation held
    longer than `wait_s` by another turn makes this one Busy (503 with Retry-After)."""

    def __init__(
        self,
        redis: Redis,
        *,
        lease_s: float,
        wait_s: float,
        retry_after_s: int,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        super().__init__(
            redis,
            name=lambda key: f"{prefix}conversation:{key}",
            lease_s=lease_s,  # longer than any turn (Rasa's timeout and then some)
            wait_s=wait_s,
            poll_s=0.01,
            timed_out=lambda: Busy(retry_after_s),
        )
