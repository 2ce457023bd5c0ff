"""Backend fixtures: a migrated SQLite database per test, the app with a Rasa double."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.hub import transcript
from backend.hub.safety import SafetyAlert
from backend.identity.access import record_verification
from backend.main import create_app
from backend.services import Services, build_services
from scripts.stack import free_port
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.rest_client import rest_clients
from tests.utils.twilio_channel import twilio_overrides
from tests.utils.twilio_double import TwilioDouble


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "var_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'backend.db'}",
        "encryption_key": "test-encryption-key-0123456789",
        "service_token": "test-service-token-0123456789",
        "rasa_token": "test-rasa-token-0123456789",
        "rasa_url": "http://127.0.0.1:9",
        "actions_url": "http://127.0.0.1:9",
        "ehr_base_url": "http://127.0.0.1:9/fhir",
        "health_timeout_s": 0.5,
        "session_max_turns": 3,
        "phone_turn_retry_s": 0,
        # The test clients speak plain http, which never carries a Secure cookie (the
        # console's default outside development); test_handoff_console_security checks it.
        "console_cookie_secure": False,
        # The REST channel on, for the tests' client (its key in tests/utils/rest_client.py);
        # rate limits out of the way of tests that are not about them (test_rate_limits.py).
        "rest_clients": rest_clients(),
        "rate_limit_per_address": "1000/minute",
        "rate_limit_per_client": "10000/minute",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def chest_pain_screen(text: str) -> SafetyAlert | None:
    """A stand-in red-flag screen that fires on one phrase."""
    if "crushing chest pain" not in text.lower():
        return None
    return SafetyAlert(
        level="emergency_ambulance",
        rule_ids=("RF-TEST-001",),
        explanation="Crushing chest pain can be a sign of a heart attack.",
        safety_net="Call 911 now.",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    built = make_settings(tmp_path)
    upgrade(built.effective_database_url)
    return built


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def services(settings: Settings, fake_rasa: FakeRasa) -> Services:
    return build_services(settings, rasa=fake_rasa, safety_screen=chest_pain_screen)


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services), headers=REST_HEADERS) as test_client:
        yield test_client


@pytest.fixture
def twilio() -> Iterator[TwilioDouble]:
    """A local double of Twilio's Messages API."""
    double = TwilioDouble().start()
    yield double
    double.stop()


@pytest.fixture
def twilio_settings(tmp_path: Path, twilio: TwilioDouble) -> Settings:
    """Settings with a Twilio account whose API is the local double, database migrated."""
    built = make_settings(tmp_path, **twilio_overrides(twilio.base_url))
    upgrade(built.effective_database_url)
    return built


@pytest.fixture
def backend_url(settings: Settings, services: Services) -> Iterator[str]:
    """The app served by a real uvicorn on a free port (streams, sockets, browsers)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the backend did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def patient_conversation(
    services: Services,
    *,
    channel: str = "rest",
    address: str | None = None,
    verified_as: str | None = None,
    dependants: frozenset[str] | set[str] = frozenset(),
) -> str:
    """A conversation as the channel routes open it; verified as `verified_as` (guardian of
    `dependants`) when given, as the identity flow records it once the patient proved who
    they are."""
    with services.session_factory() as session:
        row = transcript.get_or_create_conversation(
            session=session,
            cipher=services.cipher,
            channel=channel,
            address=address or f"addr-{channel}",
        )
        if verified_as is not None:
            record_verification(
                session=session,
                cipher=services.cipher,
                conversation_id=row.id,
                patient_id=verified_as,
                dependants=dependants,
            )
        return row.id


POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database on the machine's real PostgreSQL (trust auth), made for one test and
    dropped after it."""
    name = f"assistant_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{POSTGRES_SERVER}/test", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(f"{POSTGRES_SERVER}/test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
