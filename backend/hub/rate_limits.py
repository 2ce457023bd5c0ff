"""Rate limits on patient messages: per conversation address, and per client.

Every patient-facing channel counts each message against its conversation address (a keyed
hash of it: no phone number or chat id is ever a key) and, where a client stands apart from
the address, against the client too: a REST client (its id), the address a web chat writes
from (a keyed hash of it). What a channel does over the limit is its own (REST 429, web chat
a "slow down" frame, phone channels keep the message: backend/hub/throttling.py).

Counting and windows are the `limits` library's (moving window), as for console sign-ins
(backend/handoff/login_throttle.py): in Redis when several hub workers share the load
(REDIS_URL), so a burst spread over workers is counted once; in memory otherwise. The async
storage keeps the event loop free while Redis answers.

A limiter that cannot count (Redis down) lets the message through, with a warning: the limit
protects the assistant from floods, it must never be what silences a patient.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from backend.core.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Throttled:
    """Over a limit: the next message is taken after this many seconds."""

    retry_after_s: int


class RateLimits:
    """Moving-window message counts per conversation address and per client."""

    def __init__(
        self, *, per_address: str, per_client: str, storage_uri: str = "", key_prefix: str = "hub:"
    ) -> None:
        if storage_uri:
            # redis-py (already the hub's Redis client), not the library's default coredis.
            storage = storage_from_string(
                "async+" + storage_uri,
                implementation="redispy",
                key_prefix=f"{key_prefix}rate",
                wrap_exceptions=True,
            )
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = MovingWindowRateLimiter(storage)
        self._address: RateLimitItem = parse(per_address)
        self._client: RateLimitItem = parse(per_client)
        # At most one "slow down" notice per address and window of the address limit.
        self._notice: RateLimitItem = type(self._address)(1, self._address.multiples)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            per_address=settings.rate_limit_per_address,
            per_client=settings.rate_limit_per_client,
            storage_uri=settings.redis_url,
            key_prefix=settings.redis_prefix,
        )

    async def admit(self, *, address_key: str, client_key: str | None = None) -> Throttled | None:
        """Count one message; None when it is within both limits, else how long to wait.

        The address is counted first: a message refused for its client still used one of its
        address's turns, which only makes a flooding client wait longer."""
        counted = [("address", address_key, self._address)]
        if client_key is not None:
            counted.append(("client", client_key, self._client))
        for kind, key, item in counted:
            if not await self._hit(item, kind, key):
                return Throttled(await self._wait(item, kind, key))
        return None

    async def first_notice(self, address_key: str) -> bool:
        """True once per window of the address limit: whether to tell the patient to slow
        down (the rest of a burst is kept without a word)."""
        return await self._hit(self._notice, "notice", address_key)

    async def _hit(self, item: RateLimitItem, kind: str, key: str) -> bool:
        try:
            return await self._limiter.hit(item, kind, key)
        except StorageError:
            logger.warning("rate limits unavailable (%s); the message is let through", kind)
            return True

    async def _wait(self, item: RateLimitItem, kind: str, key: str) -> int:
        try:
            stats = await self._limiter.get_window_stats(item, kind, key)
        except StorageError:
            return 1
        return max(1, math.ceil(stats.reset_time - time.time()))
