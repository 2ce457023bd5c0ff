"""`make rotate-keys` (scripts/rotate_keys.py): everything at rest moves to the current key, in
batches, restartable, and a patient's conversation is still found by address afterwards."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.core.config import Settings, get_settings
from backend.core.crypto import Cipher
from backend.db.migrate import upgrade
from backend.db.models import Base, Message
from backend.db.session import make_engine
from backend.hub.transcript import get_or_create_conversation, transcript
from bot.sealed_events import seal, unseal
from scripts import rotate_keys
from tests.backend.conftest import make_settings

OLD, NEW, ADDRESS = "old-secret-0123456789", "new-secret-0123456789", "address-secret-012345"
PHONE = "+15557654321"
EVENTS = [
    {"event": "user", "timestamp": 1.0, "text": "my birthday is 1961-04-12"},
    {"event": "slot", "timestamp": 2.0, "name": "birth_date", "value": "1961-04-12"},
    {"event": "user", "timestamp": 3.0, "text": "481516"},
]
RASA_EVENTS_TABLE = """CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255),
    type_name VARCHAR(255), timestamp FLOAT, intent_name VARCHAR(255),
    action_name VARCHAR(255), data TEXT)"""


def before(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path, database_url=database_url, encryption_key=OLD, address_hash_key=ADDRESS
    )


def after(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url=database_url,
        encryption_key=NEW,
        encryption_keys_old=OLD,
        address_hash_key=ADDRESS,
    )


def write_history(settings: Settings, messages: int, lost_key_at: int | None = None) -> str:
    """A conversation with `messages` patient messages under the settings' key (message
    number `lost_key_at` under a key no setting has); the conversation's id."""
    lost = Cipher("lost-secret-0123456789")
    cipher = Cipher.from_settings(settings)
    engine = make_engine(settings.effective_database_url, pool_size=1)
    with Session(engine) as session:
        conversation = get_or_create_conversation(
            session=session, cipher=cipher, channel="sms", address=PHONE
        )
        for n in range(messages):
            session.add(
                Message(
                    conversation_id=conversation.id,
                    channel="sms",
                    direction="in",
                    author="patient",
                    text_ciphertext=(lost if n == lost_key_at else cipher).encrypt(f"message {n}"),
                    buttons_ciphertext=cipher.encrypt("[]") if n % 2 else None,
                )
            )
        session.commit()
        conversation_id = conversation.id
    engine.dispose()
    return conversation_id


def ciphertexts(database_url: str) -> list[str]:
    """Every value of every *_ciphertext column in the database."""
    engine = make_engine(database_url, pool_size=1)
    found: list[str] = []
    with engine.connect() as connection:
        for table, columns in rotate_keys.ciphertext_columns(Base.metadata):
            for row in connection.execute(select(*columns).select_from(table)):
                found += [value for value in row if value is not None]
    engine.dispose()
    return found


def write_tracker(path: Path, cipher: Cipher) -> None:
    """Rasa's events table: the first event in clear (stored before encryption existed), the
    others sealed under `cipher`."""
    with sqlite3.connect(path) as db:
        db.execute(RASA_EVENTS_TABLE)
        for n, event in enumerate(EVENTS):
            data = json.dumps(event) if n == 0 else seal(cipher, event)
            db.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)",
                ("c1", event["event"], event["timestamp"], data),
            )


def tracker_rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [data for (data,) in db.execute("SELECT data FROM events ORDER BY id")]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'backend.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    yield url


def test_rotation_moves_every_encrypted_column_to_the_new_key_and_lookups_still_work(
    tmp_path: Path, database_url: str
) -> None:
    conversation_id = write_history(before(tmp_path, database_url), messages=7)
    settings = after(tmp_path, database_url)
    new_only = Cipher(NEW)

    report = rotate_keys.rotate_all(settings, tracker_url=None, batch=3, say=lambda _: None)

    counts = {r.table: r.rows for r in report}
    assert counts["conversations"] == 1 and counts["messages"] == 7
    stored = ciphertexts(database_url)
    assert len(stored) == 1 + 7 + 3  # the address, 7 texts, 3 button lists
    assert all(new_only.is_current(value) for value in stored)
    engine = make_engine(database_url, pool_size=1)
    with Session(engine) as session:
        found = get_or_create_conversation(
            session=session, cipher=Cipher.from_settings(settings), channel="sms", address=PHONE
        )
        assert found.id == conversation_id  # the address hash did not change
        assert new_only.decrypt(found.address_ciphertext) == PHONE
        texts = [
            m.text for m in transcript(session=session, cipher=new_only, conversation_id=found.id)
        ]
    engine.dispose()
    assert texts == [f"message {n}" for n in range(7)]


def test_a_second_run_has_nothing_left_to_do(tmp_path: Path, database_url: str) -> None:
    write_history(before(tmp_path, database_url), messages=4)
    settings = after(tmp_path, database_url)
    rotate_keys.rotate_all(settings, tracker_url=None, batch=2, say=lambda _: None)
    first = ciphertexts(database_url)

    report = rotate_keys.rotate_all(settings, tracker_url=None, batch=2, say=lambda _: None)

    assert sum(r.rows for r in report) == 0
    assert ciphertexts(database_url) == first  # nothing rewritten


def test_an_interrupted_rotation_continues_where_it_stopped(tmp_path: Path) -> None:
    """A row no configured key opens stops the run; the batches before it stay committed, and
    once the row is dealt with the next run rotates only what is left."""
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    upgrade(url)
    write_history(before(tmp_path, url), messages=6, lost_key_at=3)  # message id 4
    settings = after(tmp_path, url)
    said: list[str] = []

    with pytest.raises(rotate_keys.RotationError, match="messages, row id=4"):
        rotate_keys.rotate_all(settings, tracker_url=None, batch=2, say=said.append)

    assert message_ids_under(url, Cipher(NEW)) == [1, 2]  # the batch (3, 4) was rolled back
    engine = make_engine(url, pool_size=1)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM messages WHERE id = 4"))
    engine.dispose()
    report = rotate_keys.rotate_all(settings, tracker_url=None, batch=2, say=said.append)

    assert {r.table: r.rows for r in report}["messages"] == 3  # ids 3, 5, 6
    assert {r.table: r.rows for r in report}["conversations"] == 0  # done in the first run
    assert message_ids_under(url, Cipher(NEW)) == [1, 2, 3, 5, 6]
    assert "[rotate-keys] messages: 3 rows re-encrypted" in said


def message_ids_under(url: str, cipher: Cipher) -> list[int]:
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        rows = connection.execute(select(Message.id, Message.text_ciphertext)).all()
    engine.dispose()
    return sorted(id_ for id_, value in rows if cipher.is_current(value))


def test_the_tracker_store_is_resealed_and_clear_events_are_sealed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    upgrade(url)
    tracker = tmp_path / "tracker.db"
    write_tracker(tracker, Cipher(OLD))
    assert "1961-04-12" in tracker_rows(tracker)[0]

    report = rotate_keys.rotate_all(
        after(tmp_path, url), tracker_url=f"sqlite:///{tracker}", batch=2, say=lambda _: None
    )

    assert {r.table: r.rows for r in report}["events (Rasa)"] == 3
    rows = tracker_rows(tracker)
    assert not any("1961-04-12" in row or "481516" in row for row in rows)
    assert [unseal(Cipher(NEW), row) for row in rows] == EVENTS  # the new key alone opens them
    again = rotate_keys.rotate_all(
        after(tmp_path, url), tracker_url=f"sqlite:///{tracker}", batch=2, say=lambda _: None
    )
    assert {r.table: r.rows for r in again}["events (Rasa)"] == 0


def test_make_rotate_keys_reads_the_settings_and_reports_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    upgrade(url)
    write_history(before(tmp_path, url), messages=2)
    (tmp_path / "rasa").mkdir()
    write_tracker(tmp_path / "rasa" / "tracker.db", Cipher(OLD))
    for name, value in {
        "ENV": "test",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": url,
        "ENCRYPTION_KEY": NEW,
        "ENCRYPTION_KEYS_OLD": OLD,
        "ADDRESS_HASH_KEY": ADDRESS,
        "SERVICE_TOKEN": "test-service-token-0123456789",
        "RASA_TOKEN": "test-rasa-token-0123456789",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert rotate_keys.main(["--batch", "1"]) == 0
    finally:
        get_settings.cache_clear()

    out = capsys.readouterr().out
    assert "conversations: 1 rows re-encrypted" in out
    assert "messages: 2 rows re-encrypted" in out
    assert "Rasa's events: 3 rows re-encrypted" in out
    assert "done: 6 rows re-encrypted in all" in out
