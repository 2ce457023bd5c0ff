"""Alembic environment: the URL comes from the caller (backend.db.migrate) or from settings."""

from __future__ import annotations

from alembic import context

from backend.core.config import get_settings
from backend.db.models import Base
from backend.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
engine = make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
