"""Blocking database work, run off the event loop in a bounded set of worker threads.

The backend uses SQLAlchemy's synchronous engine (SQLite by default, PostgreSQL by URL). A
synchronous call on the event loop, a pool checkout above all, freezes every conversation the
process serves; so async code hands each short piece of database work to `DbWork.run`, which
opens a session in a worker thread, runs the work, commits or rolls back, and gives the
connection back before the caller awaits anything else (Rasa, the EHR, a provider). No
connection is ever held across a network wait.

The number of threads is bounded and smaller than the connection pool, so a checkout never
waits for a connection that another thread holds across a long wait.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class DbWork:
    """Runs `work(session)` in a worker thread; at most `threads` at once per process."""

    def __init__(self, session_factory: sessionmaker[Session], *, threads: int) -> None:
        self._factory = session_factory
        self._threads = threads
        # One limiter per event loop (made on it): a process has one loop, tests have many.
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    @property
    def busy(self) -> int:
        """Threads running database work right now."""
        return sum(int(limiter.borrowed_tokens) for limiter in list(self._limiters.values()))

    async def run(self, work: Callable[[Session], T]) -> T:
        """The result of `work`, run in its own session (closed afterwards)."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self._threads)
        return await anyio.to_thread.run_sync(self._in_session, work, limiter=limiter)

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self._factory() as session:
            return work(session)
