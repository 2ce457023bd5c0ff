"""Apply Alembic migrations: `python -m backend.db.migrate [DATABASE_URL]`."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.core.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema (a no-op when it is there)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else get_settings().effective_database_url
    upgrade(target)
    print("[migrate] database schema is up to date", flush=True)
