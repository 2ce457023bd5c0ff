"""A provider rate limit for outreach: at most `per_second` messages handed over per second.

Outreach is the one sender that can have thousands of messages due at once (a clinic's
morning of reminders); the provider (Twilio: about one message per second per long code,
more for short codes and messaging services) queues or refuses the excess. Pacing here keeps
the scheduler under the configured rate instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """Spaces calls at least 1/per_second apart (0 = no limit)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next message may be handed over."""
        if self._interval == 0.0:
            return
        async with self._lock:
            now = self._clock()
            if now < self._next:
                await self._sleep(self._next - now)
                now = self._next
            self._next = now + self._interval
