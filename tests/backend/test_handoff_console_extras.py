"""Console extras: private notes, canned replies, the patient's verified identity in the queue,
web chat push, escalations written to the EHR, what the action server is told, opening hours,
and auth on every console route."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Conversation, HandoffNote
from backend.ehr import EhrUnavailable, PatientSummary
from backend.ehr.fake import InMemoryEhr
from backend.handoff.hours import parse_hours
from backend.handoff.identity_labels import minimal_label
from backend.identity.access import record_verification
from backend.main import create_app
from backend.services import Services, build_services
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.backend.test_handoff_console_api import CONSOLE_ROUTES, escalate, patient_says, sign_in
from tests.backend.test_webchat_socket import open_chat, say
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import make_clinician

PATIENT_RESOURCE = {
    "resourceType": "Patient",
    "id": "pat-ann",
    "name": [{"given": ["Anna"], "family": "Lopez"}],
    "birthDate": "1984-03-02",
}


@pytest.fixture
def ehr() -> InMemoryEhr:
    return InMemoryEhr([PATIENT_RESOURCE])


@pytest.fixture
def services(settings: Settings, fake_rasa: FakeRasa, ehr: InMemoryEhr) -> Services:
    return build_services(settings, rasa=fake_rasa, safety_screen=chest_pain_screen, ehr=ehr)


@pytest.fixture
def signed_in(client: TestClient, services: Services) -> TestClient:
    with services.session_factory() as session:
        make_clinician(session)
    sign_in(client)
    return client


def verify(services: Services, conversation_id: str, patient_id: str = "pat-ann") -> None:
    with services.session_factory() as session:
        record_verification(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id,
            patient_id=patient_id,
        )


def drain(client: TestClient, services: Services) -> None:
    """Wait for the background EHR writes on the app's event loop, where they run (they
    wait for a database thread, so they are not done when the route answers)."""
    assert client.portal is not None and services.handoffs is not None
    client.portal.call(services.handoffs.drain)


def ehr_resources(ehr: InMemoryEhr, resource_type: str) -> list[dict]:
    return [r for (kind, _), r in ehr._db.items() if kind == resource_type]


def test_every_console_route_is_in_the_auth_check(tmp_path: Path) -> None:
    paths = create_app(make_settings(tmp_path)).openapi()["paths"]
    console = {
        (method, path)
        for path, operations in paths.items()
        if path.startswith("/console/api")
        for method in operations
    }
    checked = {(m, p.replace("/1/", "/{handoff_id}/")) for m, p, _ in CONSOLE_ROUTES}
    assert console - checked == {("post", "/console/api/login")}  # the one open route


def test_private_notes_are_encrypted_and_never_reach_the_patient(
    signed_in: TestClient, services: Services
) -> None:
    handoff = escalate(signed_in, patient_says(signed_in, services, "hello"), "patient_request")
    url = f"/console/api/handoffs/{handoff['id']}"
    assert signed_in.post(f"{url}/claim").status_code == 200  # notes are read by the holder
    added = signed_in.post(f"{url}/notes", json={"text": "Sounds anxious; call back at 3"})
    assert added.status_code == 201 and added.json()["author"] == "Ann Lee"
    notes = signed_in.get(f"{url}/notes").json()
    assert [n["text"] for n in notes["data"]] == ["Sounds anxious; call back at 3"]
    with services.session_factory() as session:
        stored = session.scalars(select(HandoffNote.text_ciphertext)).one()
    assert "anxious" not in stored
    transcript = signed_in.get(f"{url}/transcript").json()["data"]
    assert all("anxious" not in m["text"] for m in transcript)
    assert signed_in.post(f"{url}/notes", json={"text": " "}).status_code == 422
    assert signed_in.get("/console/api/handoffs/999/notes").status_code == 404


def test_canned_replies_come_from_the_yaml_file(signed_in: TestClient) -> None:
    canned = signed_in.get("/console/api/canned-replies").json()
    assert canned["count"] >= 3
    assert {"greeting", "handing_back"} <= {r["id"] for r in canned["data"]}
    assert all(r["title"] and r["text"] for r in canned["data"])


def test_the_queue_shows_a_minimal_label_and_the_fhir_id_of_a_verified_patient(
    signed_in: TestClient, services: Services
) -> None:
    verified = patient_says(signed_in, services, "hello", sender="+15550002222")
    verify(services, verified)
    escalate(signed_in, verified, "patient_request")
    anonymous = patient_says(signed_in, services, "hi", sender="+15550003333")
    escalate(signed_in, anonymous, "patient_request")
    rows = {r["conversation_id"]: r for r in signed_in.get("/console/api/queue").json()["data"]}
    assert rows[verified]["patient"] == {"label": "A.L. 1984", "fhir_id": "pat-ann"}
    assert rows[anonymous]["patient"] is None
    assert "Lopez" not in str(rows)  # the label stays minimal


def test_minimal_label_handles_missing_parts() -> None:
    assert minimal_label(PatientSummary("p", "ann", "lee", date(1990, 1, 1))) == "A.L. 1990"
    assert minimal_label(PatientSummary("p", "", "", None)) == "? ?"


async def test_an_escalation_of_a_verified_patient_is_written_to_the_ehr(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = patient_says(client, services, "I have crushing chest pain")
    # The hand-off's own background write finds no verified patient yet (the race this
    # waits out: it used to finish before `verify`, but may now run after it).
    drain(client, services)
    verify(services, conversation_id)
    assert services.handoffs is not None
    assert await services.handoffs.record_in_ehr(1)
    (task,) = ehr_resources(ehr, "Task")
    assert task["priority"] == "stat" and task["for"]["reference"] == "Patient/pat-ann"
    assert "emergency" in task["description"] and "chest" not in task["description"]
    (flag,) = ehr_resources(ehr, "Flag")
    assert flag["subject"]["reference"] == "Patient/pat-ann"


async def test_a_normal_escalation_gets_a_routine_task_and_no_flag(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = patient_says(client, services, "hello")
    verify(services, conversation_id)
    handoff = escalate(client, conversation_id, "patient_request")
    drain(client, services)  # the route wrote it in the background
    tasks = ehr_resources(ehr, "Task")
    assert [t["priority"] for t in tasks] == ["routine"]
    assert ehr_resources(ehr, "Flag") == []
    assert handoff["created"]


async def test_an_ehr_that_is_down_does_not_block_the_handoff(
    client: TestClient, services: Services, ehr: InMemoryEhr, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id = patient_says(client, services, "hello")
    verify(services, conversation_id)
    ehr.fail_next = EhrUnavailable("Task", "create")
    handoff = escalate(client, conversation_id, "patient_request")
    assert handoff["state"] == "waiting"
    drain(client, services)
    assert ehr_resources(ehr, "Task") == []
    assert "EHR write failed" in caplog.text and "pat-ann" not in caplog.text


async def test_an_unverified_conversation_writes_nothing_to_the_ehr(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    patient_says(client, services, "hello")
    escalate(client, patient_says(client, services, "hello"), "patient_request")
    assert services.handoffs is not None
    assert not await services.handoffs.record_in_ehr(1)
    assert ehr_resources(ehr, "Task") == []


def test_the_action_server_is_told_the_queue_and_the_usual_wait(
    client: TestClient, services: Services
) -> None:
    first = escalate(client, patient_says(client, services, "a", sender="p1"), "patient_request")
    second = escalate(client, patient_says(client, services, "b", sender="p2"), "patient_request")
    minutes = services.settings.handoff_minutes_per_patient
    assert (first["queue_position"], first["expected_wait_minutes"]) == (1, minutes)
    assert (second["queue_position"], second["waiting_count"]) == (2, 2)
    assert second["expected_wait_minutes"] == 2 * minutes
    assert second["clinic_hours"] == services.settings.clinic_hours
    assert second["emergency_number"] == services.settings.emergency_number


def test_out_of_hours_the_action_server_is_told_the_clinic_is_closed(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    settings = make_settings(tmp_path, clinic_opening_hours="")  # never open
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=fake_rasa)
    with TestClient(create_app(settings, services)) as client:
        opened = escalate(client, patient_says(client, services, "hi"), "patient_request")
    assert opened["clinic_open"] is False


def test_opening_hours_are_read_in_the_clinic_time_zone() -> None:
    hours = parse_hours("mon-fri 08:00-18:00; sat 09:00-12:00", "America/New_York")
    monday_9am_ny = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert hours.is_open(monday_9am_ny)
    assert not hours.is_open(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))  # 18:30 in New York
    assert hours.is_open(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # Saturday 10:00
    assert not hours.is_open(datetime(2026, 11, 29, 15, 0, tzinfo=UTC))  # Sunday
    with pytest.raises(ValueError, match="cannot read"):
        parse_hours("weekdays 9-5", "UTC")
    with pytest.raises(ValueError, match="closes before"):
        parse_hours("mon 18:00-08:00", "UTC")


def test_a_clinician_reply_is_pushed_to_the_patients_web_chat(
    signed_in: TestClient, services: Services
) -> None:
    with open_chat(signed_in) as (ws, _, _):
        say(ws, {"type": "message", "text": "hello"})
        with services.session_factory() as session:
            conversation_id = session.scalars(
                select(Conversation.id).where(Conversation.channel == "web")
            ).one()
        handoff = escalate(signed_in, conversation_id, "patient_request")
        url = f"/console/api/handoffs/{handoff['id']}"
        signed_in.post(f"{url}/claim")
        assert signed_in.post(f"{url}/reply", json={"text": "Nurse Ann here"}).json() == {"sent": 1}
        pushed = ws.receive_json()
    assert (pushed["type"], pushed["author"], pushed["text"]) == (
        "bot",
        "clinician",
        "Nurse Ann here",
    )
