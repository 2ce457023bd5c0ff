"""Engine and session factory, built from settings (never at import time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Connections beyond the database worker threads (backend/db/work.py): FastAPI's thread pool
# runs the console's plain `def` routes, each of which may hold one for a moment. SQLite's
# connections cost nothing; PostgreSQL's are counted against its max_connections (100 by
# default) across every hub worker and the outreach scheduler.
SQLITE_OVERFLOW = 40
POSTGRES_OVERFLOW = 12


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine for SQLite (WAL, foreign keys on) or PostgreSQL, whose pool has a connection
    for every database worker thread (`pool_size`) so that their checkouts never wait."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A generous lock wait: concurrent writers (claims, webhooks) queue rather than fail.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=SQLITE_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=POSTGRES_OVERFLOW
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session
