"""The backend on the real PostgreSQL server (127.0.0.1:5432, trust auth): migrations and the
hub's path, in a database created for this test run and dropped after it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.main import create_app
from backend.services import build_services
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(tmp_path: Path, postgres_url: str) -> Settings:
    settings = make_settings(tmp_path, database_url=postgres_url)
    upgrade(settings.effective_database_url)
    return settings


def test_migrations_create_the_schema_and_run_twice(pg_settings: Settings) -> None:
    upgrade(pg_settings.effective_database_url)  # a second run is a no-op
    engine = create_engine(pg_settings.effective_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"conversations", "messages", "alembic_version"} <= tables


def test_a_conversation_is_stored_encrypted_in_postgres(pg_settings: Settings) -> None:
    rasa = FakeRasa()
    services = build_services(pg_settings, rasa=rasa, safety_screen=chest_pain_screen)
    with TestClient(create_app(pg_settings, services), headers=REST_HEADERS) as client:
        for message in ["hello", "my rash is itchy"]:
            response = client.post(
                "/channels/rest/webhook", json={"sender": "+15550001111", "message": message}
            )
            assert response.status_code == 200
    assert rasa.texts == ["hello", "my rash is itchy"]
    engine = create_engine(pg_settings.effective_database_url)
    try:
        with engine.connect() as connection:
            dump = " ".join(
                str(row)
                for table in ("conversations", "messages")
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            )
            count = connection.execute(text("SELECT count(*) FROM messages")).scalar_one()
    finally:
        engine.dispose()
    assert count == 4  # two in, two out
    assert "rash" not in dump and "5550001111" not in dump
