"""Migration 0003 creates exactly the tables the SMS/WhatsApp models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.core.config import Settings
from backend.db.models import Base
from backend.db.session import make_engine

TABLES = {"phone_consents", "outbound_deliveries", "dev_outbox"}


def _tables_in(diff: object) -> set[str]:
    found: set[str] = set()
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None) or getattr(
                getattr(part, "table", None), "name", None
            )
            if isinstance(part, str) and part in TABLES:
                found.add(part)
            elif name in TABLES:
                found.add(str(name))
    return found


def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    ours = [diff for diff in diffs if _tables_in(diff)]
    assert ours == []
