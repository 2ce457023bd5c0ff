"""How late the event loop wakes up: the one figure that shows a blocking call.

A task sleeps `interval_s` over and over and records how much later than asked it woke. A
blocking call on the loop (a synchronous database checkout, a long computation) shows up as
lag; /healthz reports it with the turns in flight and fails while the loop is stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LagFigures:
    lag_ms: float  # the latest wake-up's lag
    recent_max_ms: float  # the worst over the last `window_s`
    max_ms: float  # the worst since start
    samples: int


class LoopLagMonitor:
    """Samples the running loop's lag until stopped."""

    def __init__(self, *, interval_s: float = 0.05, window_s: float = 10.0) -> None:
        self._interval_s = interval_s
        self._recent: deque[tuple[float, float]] = deque()  # (monotonic time, lag s)
        self._window_s = window_s
        self._last = 0.0
        self._woke_at = 0.0
        self._max = 0.0
        self._samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def stalled_for(self) -> float:
        """Seconds since the sampler last woke, beyond its interval (0 while it keeps up).
        Read from another thread, or after the loop comes back, it shows a stall in progress."""
        if not self._samples:
            return 0.0
        return max(0.0, time.monotonic() - self._woke_at - self._interval_s)

    @property
    def figures(self) -> LagFigures:
        now = time.monotonic()
        recent = [lag for at, lag in self._recent if now - at <= self._window_s]
        current = max(self._last, self.stalled_for())
        return LagFigures(
            lag_ms=round(current * 1000, 2),
            recent_max_ms=round(max([current, *recent]) * 1000, 2),
            max_ms=round(max(self._max, current) * 1000, 2),
            samples=self._samples,
        )

    async def _sample(self) -> None:
        self._woke_at = time.monotonic()
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self._interval_s)
            self._woke_at = time.monotonic()
            lag = max(0.0, self._woke_at - asked - self._interval_s)
            self._record(lag)

    def _record(self, lag: float) -> None:
        self._samples += 1
        self._last = lag
        self._max = max(self._max, lag)
        if lag > 0.25:
            logger.warning("event loop stalled for %.0f ms", lag * 1000)
        if lag > 0.001 or not self._recent:
            self._recent.append((self._woke_at, lag))
        cutoff = self._woke_at - self._window_s
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()
