"""Rasa's tracker store keeps no patient text in clear (bot/tracker_store.py, issue 21).

Runs in Rasa's environment (.venv-rasa): the store is built by Rasa's own factory from
endpoints.yml, as `rasa run` builds it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from backend.core.crypto import Cipher, UnknownKeyError
from bot.shared_secret import WeakSecret
from bot.tracker_store import EncryptedSQLTrackerStore
from tests.utils.clear_text_scan import scan_database

ROOT = Path(__file__).resolve().parents[2]
KEY, OLD_KEY = "tracker-test-key-0123456789", "tracker-old-key-0123456789"
CODE, BIRTH_DATE, NAME = "481516", "1961-04-12", "Okonkwo"
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  birth_date:
    type: text
    influence_conversation: false
    mappings: [{type: from_text}]
responses:
  utter_thanks: [{text: "Thank you."}]
"""
)


def identity_turn(at: float) -> list[Event]:
    """A patient typing a name, a birth date and a code into the identity form."""
    return [
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(
            f"I am {NAME}, born {BIRTH_DATE}, code {CODE}",
            intent={"name": "inform", "confidence": 1.0},
            entities=[{"entity": "code", "value": CODE, "start": 0, "end": 6}],
            timestamp=at + 1,
        ),
        SlotSet("birth_date", BIRTH_DATE, timestamp=at + 2),
        BotUttered("Thank you.", timestamp=at + 3),
    ]


def store_from_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrackerStore:
    """The store endpoints.yml configures, built by Rasa's factory (as `rasa run` does)."""
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTIONS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ACTIONS_TOKEN", "unused-here-0123456789")
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    return TrackerStore.create(config, domain=DOMAIN)


def stored_rows(path: Path) -> list[tuple[str, str | None, str | None, str]]:
    with sqlite3.connect(path) as db:
        query = "SELECT type_name, intent_name, action_name, data FROM events ORDER BY id"
        return list(db.execute(query))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ENV", "test")
    monkeypatch.setenv("ENCRYPTION_KEY", KEY)
    monkeypatch.delenv("ENCRYPTION_KEYS_OLD", raising=False)
    return monkeypatch


async def test_endpoints_yml_gives_the_encrypted_store_and_it_stores_nothing_in_clear(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    store = store_from_endpoints(tmp_path, env)
    assert isinstance(store, EncryptedSQLTrackerStore)  # not Rasa's silent in-memory fallback

    await store.save(DialogueStateTracker.from_events("c1", identity_turn(100.0)))

    raw = (tmp_path / "tracker.db").read_bytes()
    for secret in (CODE, BIRTH_DATE, NAME, "Thank you"):
        assert secret.encode() not in raw
    rows = stored_rows(tmp_path / "tracker.db")
    assert [row[0] for row in rows] == ["action", "user", "slot", "bot"]
    assert all(intent is None and action is None for _, intent, action, _ in rows)
    for type_name, _, _, data in rows:
        envelope = json.loads(data)
        assert set(envelope) == {"event", "timestamp", "sealed"}
        assert envelope["event"] == type_name


async def test_the_same_scan_finds_the_code_and_birth_date_in_rasas_own_sql_store(
    tmp_path: Path,
) -> None:
    """A control for the end-to-end scan (tests/e2e/test_nothing_in_clear_e2e.py): Rasa's
    plain SQLTrackerStore, what endpoints.yml named before, keeps them in clear."""
    path = tmp_path / "clear.db"
    clear = SQLTrackerStore(DOMAIN, db=str(path))
    await clear.save(DialogueStateTracker.from_events("c1", identity_turn(100.0)))
    clear.engine.dispose()
    encrypted = EncryptedSQLTrackerStore(DOMAIN, cipher=Cipher(KEY), db=str(tmp_path / "e.db"))
    await encrypted.save(DialogueStateTracker.from_events("c1", identity_turn(100.0)))
    encrypted.engine.dispose()

    found = {(f.value, f.where) for f in scan_database(path, [CODE, BIRTH_DATE])}

    assert (CODE, "clear.db:events.data") in found
    assert (BIRTH_DATE, "clear.db:events.data") in found
    assert scan_database(tmp_path / "e.db", [CODE, BIRTH_DATE]) == []


async def test_a_stored_tracker_comes_back_whole_in_a_new_process(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    original = DialogueStateTracker.from_events("c1", identity_turn(100.0), DOMAIN.slots)
    await store_from_endpoints(tmp_path, env).save(original)

    restored = await store_from_endpoints(tmp_path, env).retrieve("c1")

    assert restored is not None
    assert list(restored.events) == list(original.events)
    assert restored.get_slot("birth_date") == BIRTH_DATE
    assert restored.latest_message is not None and CODE in (restored.latest_message.text or "")


async def test_sessions_are_still_found_by_the_clear_type_and_time_columns(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    events = [
        *identity_turn(100.0),
        ActionExecuted("action_session_start", timestamp=200.0),
        SessionStarted(timestamp=200.5),
        *identity_turn(300.0),
    ]
    store = store_from_endpoints(tmp_path, env)
    await store.save(DialogueStateTracker.from_events("c1", events, DOMAIN.slots))

    latest = await store.retrieve("c1")
    full = await store.retrieve_full_tracker("c1")

    assert latest is not None and full is not None
    assert len(full.events) == len(events)
    assert [e.timestamp for e in latest.events] == [
        e.timestamp for e in events if e.timestamp >= 200.5
    ]
    # and a second save adds only what is new
    latest.update(BotUttered("Thank you.", timestamp=400.0))
    await store.save(latest)
    assert len(stored_rows(tmp_path / "tracker.db")) == len(events) + 1


async def test_events_under_an_old_key_or_stored_in_clear_are_still_read(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tracker.db"
    clear = SQLTrackerStore(DOMAIN, db=str(path))  # Rasa's own store, before this one
    await clear.save(DialogueStateTracker.from_events("legacy", identity_turn(100.0)))
    clear.engine.dispose()
    old = EncryptedSQLTrackerStore(DOMAIN, cipher=Cipher(OLD_KEY), db=str(path))
    await old.save(DialogueStateTracker.from_events("old-key", identity_turn(100.0)))
    old.engine.dispose()
    env.setenv("ENCRYPTION_KEYS_OLD", OLD_KEY)

    store = store_from_endpoints(tmp_path, env)

    for sender in ("legacy", "old-key"):
        tracker = await store.retrieve(sender)
        assert tracker is not None and tracker.get_slot("birth_date") == BIRTH_DATE
    env.delenv("ENCRYPTION_KEYS_OLD")
    with pytest.raises(UnknownKeyError):
        await store_from_endpoints(tmp_path, env).retrieve("old-key")


@pytest.mark.parametrize(
    ("environ", "key"),
    [("production", ""), ("production", "dev-encryption-key"), ("test", "short")],
)
def test_rasa_refuses_to_start_without_a_trustworthy_key(
    tmp_path: Path, env: pytest.MonkeyPatch, environ: str, key: str
) -> None:
    """A bad key stops Rasa (the error propagates through Rasa's factory) rather than letting
    it store clear text or fall back to memory."""
    env.setenv("ENV", environ)
    env.setenv("ENCRYPTION_KEY", key)
    with pytest.raises(WeakSecret, match="ENCRYPTION_KEY"):
        store_from_endpoints(tmp_path, env)
    assert not (tmp_path / "tracker.db").exists()  # refused before connecting
