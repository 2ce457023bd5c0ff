"""/healthz reports every dependency; the internal API requires the service token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.db.migrate import upgrade
from backend.main import create_app
from backend.services import build_services
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa


class _AlwaysOk(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def healthy_dependency() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysOk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_health_reports_each_dependency_down(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["database"]["ok"] is True
    for name in ("rasa", "actions", "ehr"):
        assert body["dependencies"][name]["ok"] is False
        assert "unreachable" in body["dependencies"][name]["detail"]


def test_health_is_ok_when_every_dependency_answers(
    tmp_path: Path, healthy_dependency: str
) -> None:
    settings = make_settings(
        tmp_path,
        rasa_url=healthy_dependency,
        actions_url=healthy_dependency,
        ehr_base_url=healthy_dependency + "/fhir",
    )
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=FakeRasa())
    with TestClient(create_app(settings, services)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-service-token"}]
)
def test_internal_api_refuses_callers_without_the_service_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert client.get("/internal/clinic", headers=headers).status_code == 401


def test_internal_api_gives_the_clinic_contact_to_the_action_server(client: TestClient) -> None:
    response = client.get(
        "/internal/clinic", headers={"Authorization": "Bearer test-service-token-0123456789"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"name", "phone", "hours", "emergency_number"}


def test_a_non_ascii_authorization_header_is_refused_not_a_server_error(
    client: TestClient,
) -> None:
    headers = {"Authorization": "Bearer tést-tökén".encode()}
    assert client.get("/internal/clinic", headers=headers).status_code == 401
