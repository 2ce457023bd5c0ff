"""The console API: sign-in, sessions that end, auth on every route, claim conflicts, the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backend.db.models import Clinician, ClinicianSession, Conversation, utcnow
from backend.services import Services
from tests.utils.handoffs import PASSWORD, make_clinician
from tests.utils.rest_client import HEADERS

SERVICE = {"Authorization": "Bearer test-service-token-0123456789"}
PATIENT = "+15550001111"
CONSOLE_ROUTES = [
    ("post", "/console/api/logout", None),
    ("post", "/console/api/logout-everywhere", None),
    ("post", "/console/api/totp/setup", None),
    ("post", "/console/api/totp/confirm", {"code": "123456"}),
    ("get", "/console/api/me", None),
    ("get", "/console/api/queue", None),
    ("post", "/console/api/handoffs/1/claim", None),
    ("post", "/console/api/handoffs/1/transfer", {"to_clinician_id": 1}),
    ("post", "/console/api/handoffs/1/release", None),
    ("post", "/console/api/handoffs/1/resolve", {"hand_back": True}),
    ("get", "/console/api/handoffs/1/transcript", None),
    ("post", "/console/api/handoffs/1/reply", {"text": "hello"}),
    ("get", "/console/api/handoffs/1/notes", None),
    ("post", "/console/api/handoffs/1/notes", {"text": "note"}),
    ("get", "/console/api/canned-replies", None),
    ("get", "/console/api/events", None),
]


def patient_says(client: TestClient, services: Services, text: str, sender: str = PATIENT) -> str:
    """A patient message through the REST channel; returns the conversation id."""
    assert client.post(
        "/channels/rest/webhook", json={"sender": sender, "message": text}, headers=HEADERS
    ).is_success
    with services.session_factory() as session:
        return session.scalars(select(Conversation.id).order_by(Conversation.created_at)).all()[-1]


def escalate(client: TestClient, conversation_id: str, reason: str, **extra: object) -> dict:
    body = {"conversation_id": conversation_id, "reason": reason, **extra}
    response = client.post("/internal/handoffs", headers=SERVICE, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def sign_in(client: TestClient, email: str = "ann@clinic.example") -> None:
    response = client.post("/console/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


@pytest.fixture
def clinicians(services: Services) -> dict[str, int]:
    with services.session_factory() as session:
        ann = make_clinician(session)
        bob = make_clinician(session, email="bob@clinic.example", name="Bob Roe")
        return {"ann": ann.id, "bob": bob.id}


@pytest.fixture
def second_client(client: TestClient) -> TestClient:
    """Another browser on the same app (its own cookie jar)."""
    return TestClient(client.app)


def test_login_sets_an_httponly_cookie_and_logout_ends_the_session(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    response = client.post(
        "/console/api/login", json={"email": "ANN@clinic.example ", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": clinicians["ann"],
        "name": "Ann Lee",
        "email": "ann@clinic.example",
        "role": "clinician",
        "totp_enabled": False,
        "totp_setup_needed": False,
    }
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    with services.session_factory() as session:
        stored = session.scalars(select(ClinicianSession.token_hash)).one()
    assert stored not in response.headers["set-cookie"]  # only the hash is kept
    assert client.get("/console/api/me").status_code == 200
    token = client.cookies.get("console_session")
    assert client.post("/console/api/logout").status_code == 204
    client.cookies.set("console_session", token or "", path="/console")  # a replayed cookie
    assert client.get("/console/api/queue").status_code == 401


def test_wrong_password_unknown_email_and_disabled_accounts_cannot_sign_in(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    with services.session_factory() as session:
        make_clinician(session, email="gone@clinic.example", name="Gone", active=False)
    for email, password in [
        ("ann@clinic.example", "wrong password here"),
        ("nobody@clinic.example", PASSWORD),
        ("gone@clinic.example", PASSWORD),
    ]:
        response = client.post("/console/api/login", json={"email": email, "password": password})
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong email or password"


def test_an_expired_session_is_refused_and_deleted(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    sign_in(client)
    with services.session_factory() as session:
        session.execute(update(ClinicianSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.get("/console/api/queue").status_code == 401
    with services.session_factory() as session:
        assert session.scalars(select(ClinicianSession)).all() == []


def test_sessions_last_the_configured_hours(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    sign_in(client)
    with services.session_factory() as session:
        row = session.scalars(select(ClinicianSession)).one()
        lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(hours=services.settings.clinician_session_hours)


@pytest.mark.parametrize(("method", "path", "body"), CONSOLE_ROUTES)
def test_anonymous_patient_and_service_callers_get_401_on_every_console_route(
    client: TestClient, services: Services, method: str, path: str, body: dict | None
) -> None:
    patient_says(client, services, "hello")
    callers: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {}),  # anonymous
        ({}, {"console_session": "forged-token"}),
        ({}, {"console_session": PATIENT}),  # a patient's own channel address
        (SERVICE, {}),  # the action server's token is not a clinician
    ]
    for headers, cookies in callers:
        fresh = TestClient(client.app, cookies=cookies)
        response = fresh.request(method, path, headers=headers, json=body)
        assert response.status_code == 401, (path, headers, cookies)


def test_the_queue_shows_reason_priority_summary_channel_and_wait_but_no_phone_number(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    calm = patient_says(client, services, "hello", sender="+15550002222")
    sick = patient_says(client, services, "hello", sender=PATIENT)
    escalate(client, calm, "patient_request")
    opened = escalate(
        client, sick, "emergency", summary={"level": "emergency_ambulance", "rules": ["RF-1"]}
    )
    assert opened["created"] and opened["priority"] == "urgent" and opened["queue_position"] == 1
    sign_in(client)
    response = client.get("/console/api/queue")
    assert response.status_code == 200
    queue = response.json()
    assert queue["count"] == 2
    first, second = queue["data"]
    assert (first["conversation_id"], first["reason"], first["priority"]) == (
        sick,
        "emergency",
        "urgent",
    )
    assert first["summary"] == {"level": "emergency_ambulance", "rules": ["RF-1"]}
    assert first["channel"] == "rest" and first["waited_seconds"] >= 0
    assert second["reason"] == "patient_request" and second["priority"] == "normal"
    assert "5550001111" not in response.text and "5550002222" not in response.text


def test_claiming_twice_returns_conflict_already_taken(
    client: TestClient, second_client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    handoff = escalate(client, patient_says(client, services, "hi"), "patient_request")
    sign_in(client)
    sign_in(second_client, "bob@clinic.example")
    first = client.post(f"/console/api/handoffs/{handoff['id']}/claim")
    assert first.status_code == 200
    assert first.json()["claimed_by"] == {"id": clinicians["ann"], "name": "Ann Lee"}
    second = second_client.post(f"/console/api/handoffs/{handoff['id']}/claim")
    assert second.status_code == 409 and second.json()["detail"] == "already taken"
    assert client.post("/console/api/handoffs/999/claim").status_code == 404


def test_only_the_holder_transfers_releases_or_resolves(
    client: TestClient, second_client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    handoff = escalate(client, patient_says(client, services, "hi"), "clinical_question")
    url = f"/console/api/handoffs/{handoff['id']}"
    sign_in(client)
    sign_in(second_client, "bob@clinic.example")
    assert client.post(f"{url}/resolve", json={}).status_code == 409  # not claimed yet
    assert client.post(f"{url}/claim").status_code == 200
    assert second_client.post(f"{url}/release").status_code == 403
    moved = client.post(f"{url}/transfer", json={"to_clinician_id": clinicians["bob"]})
    assert moved.status_code == 200 and moved.json()["claimed_by"]["id"] == clinicians["bob"]
    assert client.post(f"{url}/transfer", json={"to_clinician_id": 999}).status_code == 422
    released = second_client.post(f"{url}/release")
    assert released.status_code == 200 and released.json()["state"] == "waiting"
    assert second_client.post(f"{url}/claim").status_code == 200
    done = second_client.post(f"{url}/resolve", json={"hand_back": True})
    assert done.status_code == 200
    # Resolved, Rasa resumed, then handed back to the assistant in the same request.
    assert (done.json()["state"], done.json()["outcome"]) == ("bot", "hand_back")
    assert client.get("/console/api/queue").json()["count"] == 0


def test_the_transcript_is_the_decrypted_message_log(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    conversation = patient_says(client, services, "I need to talk to a nurse")
    handoff = escalate(client, conversation, "patient_request")
    sign_in(client)
    assert client.post(f"/console/api/handoffs/{handoff['id']}/claim").status_code == 200
    response = client.get(f"/console/api/handoffs/{handoff['id']}/transcript")
    assert response.status_code == 200
    lines = response.json()["data"]
    assert [(m["author"], m["text"]) for m in lines] == [
        ("patient", "I need to talk to a nurse"),
        ("bot", "echo: I need to talk to a nurse"),
    ]
    assert PATIENT not in response.text


def test_escalating_an_open_conversation_again_returns_the_same_handoff(
    client: TestClient, services: Services
) -> None:
    conversation = patient_says(client, services, "hi")
    first = escalate(client, conversation, "not_understood")
    again = client.post(
        "/internal/handoffs",
        headers=SERVICE,
        json={"conversation_id": conversation, "reason": "urgent_triage"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["priority"] == "high"
    assert not again.json()["created"]


def test_the_internal_route_needs_the_service_token_and_a_known_conversation(
    client: TestClient,
) -> None:
    body = {"conversation_id": "nope", "reason": "emergency"}
    assert client.post("/internal/handoffs", json=body).status_code == 401
    assert client.post("/internal/handoffs", headers=SERVICE, json=body).status_code == 404
    bad = {"conversation_id": "nope", "reason": "bored"}
    assert client.post("/internal/handoffs", headers=SERVICE, json=bad).status_code == 422


def test_clinician_rows_never_leave_the_api(
    client: TestClient, services: Services, clinicians: dict[str, int]
) -> None:
    sign_in(client)
    body = client.get("/console/api/me").text
    with services.session_factory() as session:
        password_hash = session.get(Clinician, clinicians["ann"]).password_hash  # type: ignore[union-attr]
    assert "password" not in body and password_hash not in body


def test_the_console_page_is_served_and_never_renders_text_as_html(client: TestClient) -> None:
    response = client.get("/console")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-store"
    assert "innerHTML" not in response.text
