"""Migration 0008 creates exactly the outreach tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.core.config import Settings
from backend.db.models import Base
from backend.db.session import make_engine

TABLES = {"outreach_contacts", "outreach_outbox", "outreach_pauses"}


def _mentions_ours(diff: object) -> bool:
    text = repr(diff)
    return any(f"'{table}'" in text or f"Table('{table}'" in text for table in TABLES)


def test_migrated_outreach_schema_matches_the_models(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(engine.dialect.get_table_names(connection))
    engine.dispose()
    assert tables >= TABLES
    assert [diff for diff in diffs if _mentions_ours(diff)] == []
