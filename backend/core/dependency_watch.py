"""Dependencies checked in the background, so /healthz answers at once whatever their state.

A health check that waits on Rasa, the action server and the EHR takes as long as the
slowest of them: under load that is seconds, and a probe with a one-second budget fails
although the hub is fine. Instead each dependency is checked every `interval_s` by a task,
and /healthz reports the latest result and its age; a result older than `stale_s` (the
watcher itself stalled) counts as down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Check = Callable[[], Awaitable[tuple[bool, str]]]  # (ok, detail)
NOT_CHECKED = "not checked yet"


@dataclass(frozen=True)
class Checked:
    ok: bool
    detail: str
    age_s: float


class DependencyWatch:
    """Runs every check now and then; `latest` never waits."""

    def __init__(
        self, checks: dict[str, Check], *, interval_s: float = 2.0, stale_s: float = 15.0
    ) -> None:
        self._checks = checks
        self._interval_s = interval_s
        self._stale_s = stale_s
        self._results: dict[str, tuple[bool, str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check_now(self) -> None:
        """Every check once, concurrently (each check bounds its own wait)."""
        names = list(self._checks)
        outcomes = await asyncio.gather(
            *(self._checks[name]() for name in names), return_exceptions=True
        )
        now = time.monotonic()
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._results[name] = (False, f"check failed ({type(outcome).__name__})", now)
            else:
                self._results[name] = (outcome[0], outcome[1], now)

    def latest(self) -> dict[str, Checked]:
        now = time.monotonic()
        found: dict[str, Checked] = {}
        for name in self._checks:
            if name not in self._results:
                found[name] = Checked(False, NOT_CHECKED, 0.0)
                continue
            ok, detail, at = self._results[name]
            age = now - at
            if age > self._stale_s:
                found[name] = Checked(False, f"last checked {age:.0f} s ago", age)
            else:
                found[name] = Checked(ok, detail, round(age, 2))
        return found

    async def _watch(self) -> None:
        while True:
            await self.check_now()
            await asyncio.sleep(self._interval_s)
