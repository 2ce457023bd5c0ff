"""`/internal/appointments/*`: access, audit, booking over the in-memory EHR, channel wording."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import AccessAudit
from backend.ehr.fake import InMemoryEhr
from backend.services import Services, build_services
from tests.backend.conftest import patient_conversation
from tests.utils.fake_rasa import FakeRasa

AUTH = {"Authorization": "Bearer test-service-token-0123456789"}
PATIENT, CHILD, STRANGER = "pat-001", "pat-003", "pat-002"
CHECKUP = {"specialty": "419772000", "when_text": "as soon as possible"}


@pytest.fixture(scope="module")
def clinic_resources() -> list[dict]:
    from backend.ehr.seed.generate import generate_clinic

    return generate_clinic(seed=42, now=datetime.now(UTC))


@pytest.fixture
def ehr(clinic_resources: list[dict]) -> InMemoryEhr:
    return InMemoryEhr(clinic_resources)


@pytest.fixture
def services(settings: Settings, fake_rasa: FakeRasa, ehr: InMemoryEhr) -> Services:
    return build_services(settings, rasa=fake_rasa, ehr=ehr)


def conversation(services: Services, *, channel: str = "rest", verified: bool = True) -> str:
    return patient_conversation(
        services, channel=channel, verified_as=PATIENT if verified else None, dependants={CHILD}
    )


def post(client: TestClient, path: str, **body: Any) -> Any:
    return client.post(f"/internal/appointments/{path}", json=body, headers=AUTH)


def first_offer(client: TestClient, conversation_id: str) -> dict[str, Any]:
    found = post(client, "search", conversation_id=conversation_id, criteria=CHECKUP)
    assert found.status_code == 200, found.text
    return found.json()["slots"][0]


def test_an_unverified_conversation_can_neither_search_nor_book(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    cid = conversation(services, verified=False)
    assert post(client, "search", conversation_id=cid, criteria=CHECKUP).json() == {
        "detail": "not_verified"
    }
    free = next(r for r in ehr._all("Slot") if r["status"] == "free")
    refused = post(client, "book", conversation_id=cid, slot_id=free["id"])
    assert refused.status_code == 403 and refused.json()["detail"] == "not_verified"
    assert ehr._get("Slot", free["id"])["status"] == "free"


def test_routes_need_the_service_token(client: TestClient, services: Services) -> None:
    cid = conversation(services)
    assert (
        client.post("/internal/appointments/list", json={"conversation_id": cid}).status_code == 401
    )


def test_booking_holds_the_slot_for_the_verified_patient_and_is_audited(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    cid = conversation(services)
    slot = first_offer(client, cid)
    booked = post(client, "book", conversation_id=cid, slot_id=slot["id"], reason="checkup")
    assert booked.status_code == 200, booked.text
    answer = booked.json()
    assert answer["outcome"] == "booked"
    assert answer["appointment"]["clinic_address"] == slot["clinic_address"]
    assert ehr._get("Slot", slot["id"])["status"] == "busy"
    listed = post(client, "list", conversation_id=cid).json()["appointments"]
    assert answer["appointment"]["id"] in [a["id"] for a in listed]
    with services.session_factory() as session:
        actions = [
            (row.action, row.outcome, row.patient_id)
            for row in session.scalars(select(AccessAudit).order_by(AccessAudit.id))
        ]
    assert ("write.appointment.book", "success", PATIENT) in actions


def test_a_slot_booked_twice_answers_with_the_next_offers(
    client: TestClient, services: Services
) -> None:
    cid = conversation(services)
    slot = first_offer(client, cid)
    assert (
        post(client, "book", conversation_id=cid, slot_id=slot["id"]).json()["outcome"] == "booked"
    )
    again = post(client, "book", conversation_id=cid, slot_id=slot["id"], criteria=CHECKUP).json()
    assert again["outcome"] == "slot_taken"
    assert slot["id"] not in [s["id"] for s in again["offers"]["slots"]]


def test_cancel_frees_the_slot_and_someone_elses_appointment_is_not_found(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    cid = conversation(services)
    slot = first_offer(client, cid)
    appointment = post(client, "book", conversation_id=cid, slot_id=slot["id"]).json()
    cancelled = post(
        client, "cancel", conversation_id=cid, appointment_id=appointment["appointment"]["id"]
    )
    assert cancelled.status_code == 200 and cancelled.json()["appointment"]["status"] == "cancelled"
    assert ehr._get("Slot", slot["id"])["status"] == "free"
    theirs = next(r for r in ehr._all("Slot") if r["status"] == "free" and r["id"] != slot["id"])
    other = asyncio.run(ehr.book(slot_id=theirs["id"], patient_id=STRANGER))
    refused = post(client, "cancel", conversation_id=cid, appointment_id=other.id)
    assert refused.status_code == 404
    assert ehr._get("Appointment", other.id)["status"] == "booked"


def test_booking_for_the_one_child_in_care_books_the_childs_record(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    cid = conversation(services)
    slot = first_offer(client, cid)
    booked = post(client, "book", conversation_id=cid, slot_id=slot["id"], for_child=True).json()
    appointment = ehr._get("Appointment", booked["appointment"]["id"])
    assert f"Patient/{CHILD}" in str(appointment["participant"])


def test_a_patient_outside_the_family_is_refused(client: TestClient, services: Services) -> None:
    cid = conversation(services)
    refused = post(client, "list", conversation_id=cid, for_patient=STRANGER)
    assert refused.status_code == 403 and refused.json()["detail"] == "not_in_care"


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_sms_and_whatsapp_are_not_told_to_reply_cancel(
    client: TestClient, services: Services, channel: str
) -> None:
    cid = conversation(services, channel=channel)
    slot = first_offer(client, cid)
    booked = post(client, "book", conversation_id=cid, slot_id=slot["id"]).json()
    assert "cancel" not in booked["how_to_cancel"].lower()
    assert "cancel" not in post(client, "list", conversation_id=cid).json()["how_to_cancel"].lower()


def test_web_chat_is_told_how_to_cancel(client: TestClient, services: Services) -> None:
    cid = conversation(services, channel="webchat")
    assert (
        "cancel my appointment" in post(client, "list", conversation_id=cid).json()["how_to_cancel"]
    )


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": ""},
        {"conversation_id": "x" * 65},
        {"conversation_id": "c", "text": "x" * 1001},
        {"conversation_id": "c", "exclude": "not-a-list"},
    ],
)
def test_bad_input_is_a_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/internal/appointments/search", json=body, headers=AUTH).status_code == 422


def test_an_ehr_outage_is_a_503_not_a_500(
    client: TestClient, services: Services, ehr: InMemoryEhr
) -> None:
    from backend.ehr.errors import EhrUnavailable

    cid = conversation(services)
    ehr.fail_next = EhrUnavailable("Slot", "search")
    answer = post(client, "search", conversation_id=cid, criteria=CHECKUP)
    assert answer.status_code == 503 and answer.json()["detail"] == "ehr_unavailable"
