"""The tracker-store index `make run` adds once Rasa has made its events table."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from scripts.tracker_index import INDEX_NAME, index_tracker_events

# Rasa 3.6's events table and its one index, as `rasa run` creates them.
RASA_SCHEMA = """
CREATE TABLE events (
    id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT,
    PRIMARY KEY (id)
);
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""
# Rasa's lookup of the latest session start, which read every event of the sender.
LATEST_SESSION_START = (
    "SELECT max(timestamp) FROM events WHERE sender_id = ? AND type_name = 'session_started'"
)


def plan(db: sqlite3.Connection) -> str:
    rows = db.execute("EXPLAIN QUERY PLAN " + LATEST_SESSION_START, ("a",)).fetchall()
    return " ".join(str(row[-1]) for row in rows)


def test_the_latest_session_start_is_found_through_the_index(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(RASA_SCHEMA)
        db.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp) VALUES (?, ?, ?)",
            [("a", "user" if i % 10 else "session_started", float(i)) for i in range(200)],
        )
        db.commit()
        assert INDEX_NAME not in plan(db)

    assert index_tracker_events(path)
    assert index_tracker_events(path)  # a second start finds it there

    with closing(sqlite3.connect(path)) as db:
        assert f"COVERING INDEX {INDEX_NAME}" in plan(db)
        assert db.execute(LATEST_SESSION_START, ("a",)).fetchone() == (190.0,)


def test_nothing_is_made_before_rasa_has_made_its_table(tmp_path: Path) -> None:
    missing = tmp_path / "tracker.db"
    assert not index_tracker_events(missing)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert not index_tracker_events(empty)
