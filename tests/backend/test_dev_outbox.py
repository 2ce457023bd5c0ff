"""The development outbox: loopback only, one-time codes only with the service token, and no
stack without an explicit ENV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.hub.transports import keep_in_outbox
from backend.main import create_app
from backend.services import Services, build_services
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa

CODE_TEXT = "Riverside: your verification code is 482913. It expires in 10 minutes."
LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture()
def dev(tmp_path: Path) -> Iterator[tuple[Services, Settings]]:
    settings = make_settings(tmp_path, env="development")
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=FakeRasa())
    with services.session_factory() as session:
        keep_in_outbox(session, services.cipher, channel="sms", to="+15550100123", body=CODE_TEXT)
        session.commit()
    yield services, settings


def _client(dev: tuple[Services, Settings], host: str) -> TestClient:
    services, settings = dev
    return TestClient(create_app(settings, services), client=(host, 50000))


def test_a_caller_beyond_loopback_is_refused(dev: tuple[Services, Settings]) -> None:
    with _client(dev, "192.0.2.7") as client:
        for path in ("/dev/outbox.json", "/dev/outbox"):
            response = client.get(path)
            assert response.status_code == 403
            assert "482913" not in response.text


def test_codes_are_masked_without_the_service_token(dev: tuple[Services, Settings]) -> None:
    with _client(dev, LOOPBACK[0]) as client:
        [entry] = client.get("/dev/outbox.json").json()
        page = client.get("/dev/outbox").text
        wrong = client.get("/dev/outbox.json", headers={"Authorization": "Bearer nope"}).json()
    assert "482913" not in entry["text"] and "verification code is ••••••" in entry["text"]
    assert "10 minutes" in entry["text"]  # only the code is masked
    assert "482913" not in page and "make outbox" in page
    assert "482913" not in wrong[0]["text"]


def test_the_service_token_shows_the_codes(dev: tuple[Services, Settings]) -> None:
    _, settings = dev
    token = {"Authorization": f"Bearer {settings.service_token}"}
    with _client(dev, "::1") as client:
        [entry] = client.get("/dev/outbox.json", headers=token).json()
    assert entry["text"] == CODE_TEXT


def test_a_stack_without_env_does_not_start_as_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENV", raising=False)
    with pytest.raises(ValidationError, match="ENV is not set"):
        Settings(_env_file=None)  # type: ignore[call-arg]
