"""An index that Rasa 3.6's SQL tracker store lacks, added once Rasa has made its table.

Each time Rasa loads a conversation, it first looks up when the latest session started: the
newest `session_started` event of that sender. Rasa indexes events by sender only, so that
lookup read every event the conversation ever had. A conversation that lasts months grew
slower message by message, even though the hub keeps its sessions short. Measured over 500
messages, the p50 of each 50-message window rose from 53 to 58 ms without the index and
stayed at 47-49 ms with it.

- SQLite (`make run`): `index_tracker_events`, once Rasa is up and has made its table.
- Any SQL tracker store, PostgreSQL included (`make run-scaled`): run in Rasa's environment,
  `.venv-rasa/bin/python -m scripts.tracker_index ENDPOINTS_FILE` makes Rasa's tables exactly
  as `rasa run` would (Rasa's own SQLTrackerStore, from the endpoints file's tracker_store)
  and adds the index, before any Rasa instance starts: several instances starting together
  would otherwise race to create the tables.
"""

from __future__ import annotations

import sqlite3
import sys
import warnings
from contextlib import closing
from pathlib import Path

INDEX_NAME = "ix_events_sender_type_time"
SQL_STORE_TYPES = ("sql", "bot.tracker_store.encryptedsqltrackerstore")
CREATE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON events (sender_id, type_name, timestamp)"
)


def index_tracker_events(db_path: Path) -> bool:
    """Add the index to Rasa's SQLite tracker store; False when Rasa has not made it yet."""
    if not db_path.exists():
        return False
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")
        if table.fetchone() is None:
            return False
        db.execute(CREATE_INDEX)
        db.commit()
    return True


def prepare_tracker_store(endpoints: Path) -> str:
    """Rasa's tables and the index in the endpoints file's SQL tracker store (.venv-rasa only:
    it imports Rasa). Returns the database's dialect."""
    import sqlalchemy as sa

    with warnings.catch_warnings():  # Rasa 3.6's imports and SQLAlchemy 1.4's deprecations
        # (Sanic's import puts a filter of its own first: silence the output, not the filters)
        warnings.showwarning = lambda *_args, **_kwargs: None
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.utils.endpoints import read_endpoint_config

        config = read_endpoint_config(str(endpoints), "tracker_store")
        # Rasa's "SQL" or our encrypting subclass of it (bot/tracker_store.py): same tables.
        if config is None or str(config.type).lower() not in SQL_STORE_TYPES:
            raise SystemExit(f"{endpoints} configures no SQL tracker store")
        store = SQLTrackerStore(host=config.url, **config.kwargs)  # makes the tables if missing
    try:
        with store.engine.begin() as connection:
            connection.execute(sa.text(CREATE_INDEX))
        return str(store.engine.dialect.name)
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    dialect = prepare_tracker_store(Path(sys.argv[1]))
    print(f"[tracker] Rasa's tables and {INDEX_NAME} are in place ({dialect})", flush=True)
