"""An index that Rasa 3.6's SQL tracker store lacks, added once Rasa has made its table.

Each time Rasa loads a conversation, it first looks up when the latest session started: the
newest `session_started` event of that sender. Rasa indexes events by sender only, so that
lookup read every event the conversation ever had. A conversation that lasts months grew
slower message by message, even though the hub keeps its sessions short. Measured over 500
messages, the p50 of each 50-message window rose from 53 to 58 ms without the index and
stayed at 47-49 ms with it. A PostgreSQL tracker store wants the same index (docs/architecture.md).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

INDEX_NAME = "ix_events_sender_type_time"
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
