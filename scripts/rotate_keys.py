"""Re-encrypt everything at rest under the current ENCRYPTION_KEY: `make rotate-keys`.

Run it after a new ENCRYPTION_KEY is in place, with the one it replaces first in
ENCRYPTION_KEYS_OLD, and the processes restarted (docs/security.md, "Rotating the keys"). It
rewrites, under the current key, with Fernet's MultiFernet.rotate:

- every `*_ciphertext` column of every table of the backend's database (found by name in
  backend/db/models.py, so a new encrypted column needs no change here);
- every event of Rasa's tracker store (bot/sealed_events.py), sealing the events stored in
  clear before the encrypted store existed.

Work goes in batches, each one short transaction, so the running system is never blocked for
long. Only rows not yet under the current key are read, so an interrupted run starts again
where it stopped; an update applies only if the row still holds what was read (a row the
system rewrote meanwhile is already under the current key). Prints how many rows each table
had re-encrypted; exits 1, naming the table and row, when a row cannot be decrypted.

    .venv/bin/python -m scripts.rotate_keys [--batch 500] [--tracker-db URL]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Row,
    Table,
    and_,
    create_engine,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from backend.core.config import Settings, get_settings
from backend.core.crypto import Cipher, DecryptionError
from backend.db.models import Base
from backend.db.session import make_engine
from bot.sealed_events import SEALED, reseal

CIPHERTEXT_SUFFIX = "_ciphertext"
DEFAULT_BATCH = 500


class RotationError(RuntimeError):
    """A row could not be re-encrypted: its key is missing from the settings, or it is corrupt."""

    def __init__(self, table: str, row: object, cause: Exception) -> None:
        super().__init__(
            f"{table}, row {row}: {cause}. Rows before it are done; fix the keys and run "
            "`make rotate-keys` again to continue."
        )


@dataclass(frozen=True)
class Rotated:
    """How many rows of one table were rewritten under the current key."""

    table: str
    rows: int


def ciphertext_columns(metadata: MetaData) -> Iterator[tuple[Table, list[Column[str]]]]:
    """Each table with encrypted columns, and those columns."""
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if c.name.endswith(CIPHERTEXT_SUFFIX)]
        if columns:
            yield table, columns


def rotate_table(
    engine: Engine, table: Table, columns: list[Column[str]], cipher: Cipher, batch: int
) -> int:
    """Re-encrypt `columns` of `table` in batches; the number of rows rewritten."""
    done = f"{cipher.current_key_id}:%"
    stale = or_(*(and_(c.is_not(None), c.not_like(done)) for c in columns))
    keys = list(table.primary_key.columns)
    total = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(*keys, *columns).where(stale).order_by(*keys).limit(batch)
            ).all()
            for row in rows:
                values = row._mapping
                where = [key == values[key] for key in keys]
                try:
                    new = {
                        c.name: cipher.rotate(values[c])
                        for c in columns
                        if values[c] is not None and not cipher.is_current(values[c])
                    }
                except DecryptionError as exc:
                    shown = ", ".join(f"{key.name}={values[key]}" for key in keys)
                    raise RotationError(table.name, shown, exc) from exc
                unchanged = [table.c[name] == values[table.c[name]] for name in new]
                result = connection.execute(update(table).where(*where, *unchanged).values(new))
                total += result.rowcount
        if len(rows) < batch:
            return total


def rotate_tracker(engine: Engine, cipher: Cipher, batch: int) -> int:
    """Re-seal Rasa's events (id order, append-only table); the number rewritten."""
    events = Table("events", MetaData(), autoload_with=engine)
    # seal() writes `"sealed": "<key id>:...` with json.dumps's separators
    done = f'%"{SEALED}": "{cipher.current_key_id}:%'
    after, total = 0, 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(events.c.id, events.c.data)
                .where(
                    events.c.id > after, events.c.data.is_not(None), events.c.data.not_like(done)
                )
                .order_by(events.c.id)
                .limit(batch)
            ).all()
            total += _reseal_rows(connection, events, rows, lambda data: reseal(cipher, data))
        if len(rows) < batch:
            return total
        after = rows[-1].id


def _reseal_rows(
    connection: Connection,
    events: Table,
    rows: Sequence[Row[Any, Any]],
    resealed: Callable[[str], str | None],
) -> int:
    count = 0
    for row in rows:
        try:
            new = resealed(row.data)
        except (DecryptionError, ValueError) as exc:  # ValueError: not JSON
            raise RotationError("events (Rasa's tracker store)", f"id={row.id}", exc) from exc
        if new is not None:
            connection.execute(update(events).where(events.c.id == row.id).values(data=new))
            count += 1
    return count


def default_tracker_url(settings: Settings) -> str | None:
    """The embedded profile's SQLite tracker store (scripts/stack.py), if there is one."""
    path = Path(settings.var_dir) / "rasa" / "tracker.db"
    return f"sqlite:///{path}" if path.exists() else None


def rotate_all(
    settings: Settings, *, tracker_url: str | None, batch: int, say: Callable[[str], None]
) -> list[Rotated]:
    """Everything at rest, table by table; what was rewritten."""
    cipher = Cipher.from_settings(settings)
    say(f"[rotate-keys] current key id {cipher.current_key_id}")
    report: list[Rotated] = []
    engine = make_engine(settings.effective_database_url, pool_size=1)
    try:
        for table, columns in ciphertext_columns(Base.metadata):
            report.append(Rotated(table.name, rotate_table(engine, table, columns, cipher, batch)))
            say(f"[rotate-keys] {table.name}: {report[-1].rows} rows re-encrypted")
    finally:
        engine.dispose()
    if tracker_url is None:
        say("[rotate-keys] no Rasa tracker store found (pass --tracker-db URL)")
        return report
    # Rasa's own database: a plain engine, none of the backend's SQLite settings (WAL) on it.
    tracker = create_engine(tracker_url)
    try:
        report.append(Rotated("events (Rasa)", rotate_tracker(tracker, cipher, batch)))
        say(f"[rotate-keys] Rasa's events: {report[-1].rows} rows re-encrypted")
    finally:
        tracker.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    parser.add_argument(
        "--tracker-db",
        help="Rasa's tracker store as an SQLAlchemy URL (default: var/rasa/tracker.db if it "
        "exists; the scaled profile's is postgresql+psycopg://.../assistant_rasa)",
    )
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    settings = get_settings()
    try:
        report = rotate_all(
            settings,
            tracker_url=args.tracker_db or default_tracker_url(settings),
            batch=args.batch,
            say=lambda line: print(line, flush=True),
        )
    except RotationError as exc:
        print(f"[rotate-keys] stopped: {exc}", file=sys.stderr)
        return 1
    print(f"[rotate-keys] done: {sum(r.rows for r in report)} rows re-encrypted in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
