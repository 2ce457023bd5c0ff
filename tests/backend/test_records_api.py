"""Results, medications and refills over the internal API, against the in-memory EHR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import AccessAudit, Handoff
from backend.ehr import codes
from backend.ehr.errors import EhrUnavailable
from backend.ehr.fake import InMemoryEhr
from backend.main import create_app
from backend.services import Services, build_services
from tests.backend.conftest import make_settings, patient_conversation
from tests.utils.fake_rasa import FakeRasa
from tests.utils.records import CHILD, PATIENT, PRESCRIBER, STRANGER, clinic_records

AUTH = {"Authorization": "Bearer test-service-token-0123456789"}


@pytest.fixture
def ehr() -> InMemoryEhr:
    return InMemoryEhr(clinic_records())


@pytest.fixture
def services(settings: Settings, fake_rasa: FakeRasa, ehr: InMemoryEhr) -> Services:
    return build_services(settings, rasa=fake_rasa, ehr=ehr)


def conversation(services: Services, *, channel: str = "rest", verified: bool = True) -> str:
    """A conversation on `channel`, verified as PATIENT (guardian of CHILD) unless told not."""
    return patient_conversation(
        services, channel=channel, verified_as=PATIENT if verified else None, dependants={CHILD}
    )


def get(client: TestClient, path: str, conversation_id: str, **params: str) -> Any:
    return client.get(
        f"/internal/records/{path}",
        params={"conversation_id": conversation_id, **params},
        headers=AUTH,
    )


def refill(client: TestClient, conversation_id: str, medication: str, **extra: str) -> Any:
    return client.post(
        "/internal/records/refills",
        json={"conversation_id": conversation_id, "medication_request_id": medication, **extra},
        headers=AUTH,
    )


def audit_rows(services: Services) -> list[AccessAudit]:
    with services.session_factory() as session:
        return list(session.scalars(select(AccessAudit).order_by(AccessAudit.id)))


# -- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["results", "medications", "refills"])
def test_unverified_conversation_gets_nothing(
    client: TestClient, services: Services, path: str
) -> None:
    conversation_id = conversation(services, verified=False)
    response = get(client, path, conversation_id)
    assert response.status_code == 403
    assert response.json() == {"detail": "not_verified"}
    [row] = audit_rows(services)
    assert (row.outcome, row.detail, row.patient_id) == ("denied", "not_verified", None)


def test_unverified_refill_request_is_refused_and_creates_no_task(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = conversation(services, verified=False)
    assert refill(client, conversation_id, "med-lisinopril").status_code == 403
    assert ehr._all("Task") == []


def test_requests_without_the_service_token_are_refused(
    client: TestClient, services: Services
) -> None:
    conversation_id = conversation(services)
    response = client.get("/internal/records/results", params={"conversation_id": conversation_id})
    assert response.status_code == 401


def test_a_stranger_named_as_dependant_is_refused(client: TestClient, services: Services) -> None:
    conversation_id = conversation(services)
    response = get(client, "results", conversation_id, for_patient=STRANGER)
    assert response.status_code == 403
    assert response.json() == {"detail": "not_in_care"}


def test_a_guardian_sees_the_childs_results(client: TestClient, services: Services) -> None:
    conversation_id = conversation(services)
    body = get(client, "results", conversation_id, for_patient=CHILD).json()
    assert [r["id"] for r in body["reports"]] == ["rep-child"]


# -- results -----------------------------------------------------------------------------------


def test_web_chat_shows_own_released_results_newest_first_with_flags(
    client: TestClient, services: Services
) -> None:
    conversation_id = conversation(services, channel="web")
    response = get(client, "results", conversation_id)
    assert response.status_code == 200
    body = response.json()
    assert body["details_shown"] is True
    # the preliminary report and the stranger's report are never shown
    assert [r["id"] for r in body["reports"]] == ["rep-lipid", "rep-cbc"]
    lipid, cbc = body["reports"]
    assert lipid["flags"] == ["high", "normal"]
    assert (
        "LDL Cholesterol: 135 mg/dL (usual range 0-129): slightly above the usual range"
        in (lipid["lines"][0])
    )
    assert "within the usual range" in lipid["lines"][1]
    assert cbc["flags"] == ["low"] and "below the usual range" in cbc["lines"][0]
    text = "\n".join(body["messages"])
    assert "Glucose" not in text and "pending" not in text
    assert "can't diagnose" in text


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "telegram"])
def test_text_channels_only_say_results_are_ready(
    client: TestClient, services: Services, channel: str
) -> None:
    conversation_id = conversation(services, channel=channel)
    body = get(client, "results", conversation_id).json()
    assert body["details_shown"] is False
    assert body["reports"] == []
    assert body["available"] == 2
    [message] = body["messages"]
    assert "web chat" in message
    assert "135" not in message and "Cholesterol" not in message


def test_a_clinic_setting_allows_values_on_a_text_channel(
    tmp_path: Path, fake_rasa: FakeRasa, ehr: InMemoryEhr
) -> None:
    allowed = make_settings(tmp_path, results_values_channels=["sms"])
    upgrade(allowed.effective_database_url)
    services = build_services(allowed, rasa=fake_rasa, ehr=ehr)
    with TestClient(create_app(allowed, services)) as client:
        sms = get(client, "results", conversation(services, channel="sms")).json()
        telegram = get(client, "results", conversation(services, channel="telegram")).json()
    assert sms["details_shown"] is True and "135 mg/dL" in "\n".join(sms["messages"])
    assert telegram["details_shown"] is False


def test_every_results_read_is_audited(client: TestClient, services: Services) -> None:
    conversation_id = conversation(services)
    get(client, "results", conversation_id)
    [row] = audit_rows(services)
    assert (row.action, row.outcome, row.patient_id) == ("read.results", "success", PATIENT)
    assert row.conversation_id == conversation_id


def test_a_critical_result_is_withheld_and_a_clinician_is_called(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    for resource in clinic_records(critical=True)[-2:]:
        ehr._put(resource)
    conversation_id = conversation(services, channel="web")
    body = get(client, "results", conversation_id).json()
    assert body["critical_withheld"] == 1
    assert [r["id"] for r in body["reports"]] == ["rep-lipid", "rep-cbc"]
    text = "\n".join(body["messages"])
    assert "6.8" not in text and "Potassium" not in text
    assert "care team" in text and "contact you" in text
    with services.session_factory() as session:
        [handoff] = session.scalars(select(Handoff)).all()
        summary = json.loads(services.cipher.decrypt(handoff.summary_ciphertext or ""))
    assert (handoff.reason, handoff.priority, handoff.state) == (
        "critical_result",
        "urgent",
        "waiting",
    )
    assert summary["critical_results"][0]["test"] == "Basic metabolic panel"
    assert summary["critical_results"][0]["analytes"] == ["Potassium"]
    get(client, "results", conversation_id)  # asking again queues no second hand-off
    with services.session_factory() as session:
        assert len(session.scalars(select(Handoff)).all()) == 1


def test_the_ehr_being_down_is_a_503_not_a_500(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = conversation(services)
    ehr.fail_next = EhrUnavailable("DiagnosticReport", "read lab results")
    response = get(client, "results", conversation_id)
    assert response.status_code == 503
    assert audit_rows(services)[-1].outcome == "error"


# -- medications -------------------------------------------------------------------------------


def test_active_medications_with_dose_and_refills_remaining(
    client: TestClient, services: Services
) -> None:
    body = get(client, "medications", conversation(services)).json()
    by_id = {m["id"]: m for m in body["data"]}
    assert set(by_id) == {"med-lisinopril", "med-metformin", "med-oxycodone"}
    assert by_id["med-lisinopril"]["refills_remaining"] == 2
    assert by_id["med-lisinopril"]["needs_review"] is False
    assert by_id["med-metformin"]["needs_review"] is True
    assert by_id["med-oxycodone"]["review_reason"] == "it is a controlled medicine"
    assert "Take 1 tablet by mouth once daily" in body["text"]
    assert "Refills remaining: 2" in body["text"]
    assert "Amoxicillin" not in body["text"] and "Sertraline" not in body["text"]


# -- refills -----------------------------------------------------------------------------------


def test_a_refill_request_creates_the_refill_task_pattern(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    response = refill(client, conversation(services), "med-lisinopril", pharmacy="CVS Main St")
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True and body["needs_review"] is False
    assert "2 business days" in body["text"] and "Dr Ana Rivera" in body["text"]
    [task] = ehr._all("Task")
    assert task["focus"] == {"reference": "MedicationRequest/med-lisinopril"}
    assert task["for"]["reference"] == f"Patient/{PATIENT}"
    assert task["requester"]["reference"] == f"Patient/{PATIENT}"
    assert task["owner"]["reference"] == f"Practitioner/{PRESCRIBER}"
    assert task["status"] == "requested" and task["intent"] == "order"
    assert task["input"][0]["valueString"] == "CVS Main St"
    assert "businessStatus" not in task
    assert audit_rows(services)[-1].action == "write.refill"


@pytest.mark.parametrize(
    ("medication", "reason"),
    [
        ("med-metformin", "there are no refills left on it"),
        ("med-oxycodone", "it is a controlled medicine"),
    ],
)
def test_refills_needing_a_decision_still_reach_the_prescriber_marked_for_review(
    client: TestClient, services: Services, ehr: InMemoryEhr, medication: str, reason: str
) -> None:
    body = refill(client, conversation(services), medication).json()
    assert body["created"] is True and body["needs_review"] is True
    assert reason in body["text"] and "prescriber's decision" in body["text"]
    [task] = ehr._all("Task")
    assert task["businessStatus"]["coding"][0]["code"] == codes.TASK_NEEDS_REVIEW
    assert any(reason in note["text"] for note in task["note"])


def test_a_second_request_within_a_day_returns_the_first(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = conversation(services)
    first = refill(client, conversation_id, "med-lisinopril").json()
    ehr._all("Task")[0]["status"] = "completed"  # even once done, not asked again the same day
    second = refill(client, conversation_id, "med-lisinopril")
    assert second.status_code == 200
    assert second.json()["task_id"] == first["task_id"]
    assert second.json()["created"] is False
    assert "already asked" in second.json()["text"]
    assert len(ehr._all("Task")) == 1


def test_another_patients_prescription_cannot_be_refilled(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    response = refill(client, conversation(services), "med-stranger")
    assert response.status_code == 404
    assert ehr._all("Task") == []


def test_a_malformed_medication_id_is_a_422(client: TestClient, services: Services) -> None:
    assert refill(client, conversation(services), "../Patient/x").status_code == 422


def test_refill_status_reads_the_task_status(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    conversation_id = conversation(services)
    assert "can't find any refill" in get(client, "refills", conversation_id).json()["text"]
    refill(client, conversation_id, "med-lisinopril")
    waiting = get(client, "refills", conversation_id).json()
    assert waiting["data"][0]["status"] == "requested"
    assert "waiting for review" in waiting["text"] and "Lisinopril" in waiting["text"]
    ehr._all("Task")[0]["status"] = "completed"
    done = get(client, "refills", conversation_id).json()
    assert "sent to the pharmacy" in done["text"]
