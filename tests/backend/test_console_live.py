"""The console's live stream over a real server: signed-in clinicians see a patient's new
message without reloading; nobody else gets a stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
from sqlalchemy import select

from backend.db.models import Conversation
from backend.services import Services
from tests.utils.handoffs import PASSWORD, make_clinician
from tests.utils.rest_client import HEADERS as REST_HEADERS

SERVICE = {"Authorization": "Bearer test-service-token-0123456789"}


def events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) pairs of a server-sent event stream."""
    name, data = "", ""
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif line == "" and name:
            yield name, data
            name, data = "", ""


def test_a_patient_message_during_a_handoff_reaches_the_console_stream(
    backend_url: str, services: Services
) -> None:
    with services.session_factory() as session:
        make_clinician(session)
    with httpx.Client(base_url=backend_url, timeout=10, headers=REST_HEADERS) as patient:
        patient.post("/channels/rest/webhook", json={"sender": "p-live", "message": "hello"})
        cid = only_conversation(services)
        opened = patient.post(
            "/internal/handoffs",
            headers=SERVICE,
            json={"conversation_id": cid, "reason": "patient_request"},
        ).json()
        with httpx.Client(base_url=backend_url, timeout=10) as console:
            signed = console.post(
                "/console/api/login", json={"email": "ann@clinic.example", "password": PASSWORD}
            )
            assert signed.status_code == 200
            with console.stream("GET", "/console/api/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                received = events(stream.iter_lines())
                assert next(received)[0] == "ready"
                patient.post(
                    "/channels/rest/webhook", json={"sender": "p-live", "message": "still here"}
                )
                name, data = next(received)
    assert name == "message" and json.loads(data)["handoff_id"] == opened["id"]
    assert "still here" not in data  # ids only: the text is fetched through the API


def test_the_stream_refuses_anyone_without_a_clinician_session(backend_url: str) -> None:
    with httpx.Client(base_url=backend_url, timeout=10) as anyone:
        assert anyone.get("/console/api/events").status_code == 401
        anyone.cookies.set("console_session", "forged", path="/console")
        assert anyone.get("/console/api/events").status_code == 401
        assert anyone.get("/console/api/events", headers=SERVICE).status_code == 401


def only_conversation(services: Services) -> str:
    with services.session_factory() as session:
        return session.scalars(select(Conversation.id)).one()
