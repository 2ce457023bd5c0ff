"""Backpressure: a bounded number of turns in flight per hub worker, a bounded queue behind.

A burst (2,000 reminder replies at 9:00) must slow the assistant down, never take it down.
Past the bound a turn is refused with `Busy`, before anything is stored: the REST channel
answers 503 with Retry-After, so the client sends the same message again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class Busy(Exception):
    """Too many turns in flight; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"the assistant is busy; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class GateFigures:
    in_flight: int
    waiting: int
    refused: int  # since start


class TurnGate:
    """At most `max_in_flight` turns at once; at most `max_waiting` waiting, each for at most
    `max_wait_s` (unless the caller waits without a bound, as a web chat socket can)."""

    def __init__(
        self, *, max_in_flight: int, max_waiting: int, max_wait_s: float, retry_after_s: int
    ) -> None:
        self._max_in_flight = max_in_flight
        self._max_waiting = max_waiting
        self._max_wait_s = max_wait_s
        self._retry_after_s = retry_after_s
        self._slots: asyncio.Semaphore | None = None  # made on the event loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._waiting = 0
        self._refused = 0

    @property
    def figures(self) -> GateFigures:
        return GateFigures(self._in_flight, self._waiting, self._refused)

    @property
    def full(self) -> bool:
        """True when a new turn would have to wait for a slot."""
        return self._in_flight >= self._max_in_flight

    @asynccontextmanager
    async def turn(self, *, bounded_wait: bool = True) -> AsyncIterator[None]:
        """Hold a slot for one turn; raises Busy when the wait would be too long. A caller
        that waits without a bound (a web chat socket, a queue worker) is never refused."""
        loop = asyncio.get_running_loop()
        if self._slots is None or (self._loop is not loop and not self._in_flight):
            # Made on the loop that uses it (tests run several loops one after another).
            self._slots, self._loop = asyncio.Semaphore(self._max_in_flight), loop
        if bounded_wait and self.full and self._waiting >= self._max_waiting:
            self._refuse()
        self._waiting += 1
        try:
            if bounded_wait:
                await asyncio.wait_for(self._slots.acquire(), self._max_wait_s)
            else:
                await self._slots.acquire()
        except TimeoutError:
            self._refuse()
        finally:
            self._waiting -= 1
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._slots.release()

    def _refuse(self) -> None:
        self._refused += 1
        raise Busy(self._retry_after_s)
