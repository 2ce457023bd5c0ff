"""Who reads a hand-off's transcript and notes, and the audit of every read and sign-in: a
local row (who, which hand-off and patient, when, what) and a FHIR AuditEvent in the EHR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import ConsoleAudit, utcnow
from backend.ehr import EhrUnavailable
from backend.ehr.fake import InMemoryEhr
from backend.handoff.console_audit import MIRROR
from backend.services import Services, build_services
from tests.backend.conftest import chest_pain_screen
from tests.utils.console_accounts import make_account, patient_wrote, signed_in, waiting_handoff
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import PASSWORD

PATIENT = {"resourceType": "Patient", "id": "pat-ann", "name": [{"family": "Lopez"}]}


@pytest.fixture
def ehr() -> InMemoryEhr:
    return InMemoryEhr([PATIENT])


@pytest.fixture
def services(settings: Settings, fake_rasa: FakeRasa, ehr: InMemoryEhr) -> Services:
    return build_services(settings, rasa=fake_rasa, safety_screen=chest_pain_screen, ehr=ehr)


@pytest.fixture
def team(services: Services) -> dict[str, int]:
    return {
        "ann": make_account(services, "ann@clinic.example"),
        "bob": make_account(services, "bob@clinic.example"),
        "lead": make_account(services, "lead@clinic.example", role="triage_lead"),
    }


@pytest.fixture
def ann(client: TestClient, team: dict[str, int]) -> TestClient:
    return signed_in(client, "ann@clinic.example")


@pytest.fixture
def bob(client: TestClient, team: dict[str, int]) -> TestClient:
    return signed_in(TestClient(client.app), "bob@clinic.example")


@pytest.fixture
def lead(client: TestClient, team: dict[str, int]) -> TestClient:
    return signed_in(TestClient(client.app), "lead@clinic.example")


def audit_rows(services: Services, action: str) -> list[ConsoleAudit]:
    with services.session_factory() as session:
        return list(
            session.scalars(select(ConsoleAudit).where(ConsoleAudit.action == action)).all()
        )


def ehr_audit(client: TestClient, ehr: InMemoryEhr, action: str) -> list[dict]:
    """The console's AuditEvents the EHR received (after the mirror tasks finished)."""
    assert client.portal is not None
    client.portal.call(MIRROR.drain)
    return [
        event
        for event in ehr.audit_log
        if any(e.get("description", "").startswith(action) for e in event.get("entity", []))
    ]


def texts(response_json: dict) -> list[str]:
    return [line["text"] for line in response_json["data"]]


def test_a_waiting_conversation_is_read_after_claiming_it(
    ann: TestClient, services: Services
) -> None:
    handoff_id, _ = waiting_handoff(services, address="p1", said="my knee hurts")
    url = f"/console/api/handoffs/{handoff_id}"
    summary = [h for h in ann.get("/console/api/queue").json()["data"] if h["id"] == handoff_id]
    assert summary and summary[0]["reason"] == "patient_request"  # the queue still shows it
    for path in ("transcript", "notes"):
        refused = ann.get(f"{url}/{path}")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "claim this conversation to read it"
    assert ann.post(f"{url}/notes", json={"text": "x"}).status_code == 403
    assert ann.post(f"{url}/claim").status_code == 200
    assert texts(ann.get(f"{url}/transcript").json()) == ["my knee hurts"]
    assert ann.get(f"{url}/notes").status_code == 200


def test_another_clinicians_conversation_is_refused_and_a_triage_lead_reads_any(
    ann: TestClient, bob: TestClient, lead: TestClient, services: Services
) -> None:
    handoff_id, _ = waiting_handoff(services, address="p1", said="my knee hurts")
    url = f"/console/api/handoffs/{handoff_id}"
    assert texts(lead.get(f"{url}/transcript").json()) == ["my knee hurts"]  # even unclaimed
    assert ann.post(f"{url}/claim").status_code == 200
    assert ann.post(f"{url}/notes", json={"text": "call back"}).status_code == 201
    for path in ("transcript", "notes"):
        refused = bob.get(f"{url}/{path}")
        assert refused.status_code == 403 and "another clinician" in refused.json()["detail"]
        assert lead.get(f"{url}/{path}").status_code == 200
    assert texts(lead.get(f"{url}/notes").json()) == ["call back"]


def test_a_resolved_conversation_is_read_by_its_handler_only_up_to_the_resolution(
    ann: TestClient, bob: TestClient, lead: TestClient, services: Services
) -> None:
    handoff_id, conversation_id = waiting_handoff(services, address="p1", said="before")
    url = f"/console/api/handoffs/{handoff_id}"
    assert ann.post(f"{url}/claim").status_code == 200
    assert ann.post(f"{url}/resolve", json={"hand_back": False}).status_code == 200
    patient_wrote(services, conversation_id, "after", at=utcnow() + timedelta(seconds=5))
    assert texts(ann.get(f"{url}/transcript").json()) == ["before"]
    assert bob.get(f"{url}/transcript").status_code == 403
    assert bob.get(f"{url}/notes").status_code == 403
    assert texts(lead.get(f"{url}/transcript").json()) == ["before", "after"]


def test_every_read_and_refusal_is_audited_locally_and_in_the_ehr(
    ann: TestClient, bob: TestClient, services: Services, ehr: InMemoryEhr, team: dict[str, int]
) -> None:
    handoff_id, conversation_id = waiting_handoff(services, address="p1", verified_as="pat-ann")
    url = f"/console/api/handoffs/{handoff_id}"
    assert ann.post(f"{url}/claim").status_code == 200
    ann.get(f"{url}/transcript")
    ann.get(f"{url}/notes")
    bob.get(f"{url}/transcript")

    reads = audit_rows(services, "console.transcript.read")
    assert [(r.clinician_id, r.outcome, r.detail) for r in reads] == [
        (team["ann"], "success", None),
        (team["bob"], "denied", "not_yours"),
    ]
    first = reads[0]
    assert (first.handoff_id, first.conversation_id, first.patient_id) == (
        handoff_id,
        conversation_id,
        "pat-ann",  # the patient whose record was opened
    )
    assert first.at is not None and first.client
    (notes,) = audit_rows(services, "console.notes.read")
    assert (notes.clinician_id, notes.patient_id, notes.outcome) == (
        team["ann"],
        "pat-ann",
        "success",
    )

    mirrored = ehr_audit(ann, ehr, "console.transcript.read")
    assert [e["outcome"] for e in mirrored] == ["0", "4"]  # success, then the refusal
    entity = mirrored[0]["entity"]
    assert entity[0]["what"]["reference"] == "Patient/pat-ann"
    assert f"clinician/{team['ann']}" in entity[1]["description"]
    assert f"handoff/{handoff_id}" in entity[1]["description"]
    assert ehr_audit(ann, ehr, "console.notes.read")


def test_a_read_is_audited_and_answered_when_the_ehr_is_down(
    ann: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    handoff_id, _ = waiting_handoff(services, address="p1", verified_as="pat-ann", said="hi")
    url = f"/console/api/handoffs/{handoff_id}"
    assert ann.post(f"{url}/claim").status_code == 200
    ehr.fail_next = EhrUnavailable("AuditEvent", "create")
    assert texts(ann.get(f"{url}/transcript").json()) == ["hi"]
    assert ehr_audit(ann, ehr, "console.transcript.read") == []  # the EHR lost it...
    assert len(audit_rows(services, "console.transcript.read")) == 1  # ...the hub did not


def test_each_sign_in_is_audited_success_or_failure_without_the_email(
    client: TestClient, services: Services, ehr: InMemoryEhr, team: dict[str, int]
) -> None:
    login = "/console/api/login"
    assert client.post(login, json={"email": "ann@clinic.example", "password": "nope"}).is_error
    assert client.post(login, json={"email": "who@x.example", "password": PASSWORD}).is_error
    signed_in(client, "ann@clinic.example")
    rows = audit_rows(services, "console.sign_in")
    assert [(r.clinician_id, r.outcome, r.detail) for r in rows] == [
        (team["ann"], "failure", "password"),
        (None, "failure", "password"),  # an unknown email: no account, and no email kept
        (team["ann"], "success", "password"),
    ]
    assert all(r.client for r in rows)
    assert [e["outcome"] for e in ehr_audit(client, ehr, "console.sign_in")] == ["4", "4", "0"]
    with services.session_factory() as session:
        stored = " ".join(
            str(v) for r in session.scalars(select(ConsoleAudit)) for v in vars(r).values()
        )
    assert "who@x.example" not in stored and "ann@clinic.example" not in stored
