"""`POST /internal/outreach/confirm`: a reply C to a reminder confirms the appointment in the
EHR, only for the verified patient's own appointments, with clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import AccessAudit
from backend.ehr.fake import InMemoryEhr
from backend.main import create_app
from backend.services import Services, build_services
from tests.backend.conftest import patient_conversation
from tests.utils.fake_rasa import FakeRasa
from tests.utils.outreach_clinic import PATIENT, appointment

AUTH = {"Authorization": "Bearer test-service-token-0123456789"}
VISIT = datetime.now(UTC) + timedelta(days=2)


@pytest.fixture
def ehr() -> InMemoryEhr:
    patient = {"resourceType": "Patient", "id": PATIENT, "name": [{"family": "Doe"}]}
    other = {"resourceType": "Patient", "id": "pat-other", "name": [{"family": "Roe"}]}
    done = appointment("appt-done", VISIT - timedelta(days=9), status="fulfilled")
    return InMemoryEhr([patient, other, appointment("appt-1", VISIT), done])


@pytest.fixture
def outreach_client(settings: Settings, ehr: InMemoryEhr) -> Iterator[TestClient]:
    services = build_services(settings, rasa=FakeRasa(), ehr=ehr)
    with TestClient(create_app(settings, services)) as client:
        client.services = services  # type: ignore[attr-defined]
        yield client


def conversation(services: Services, *, verified_as: str | None) -> str:
    return patient_conversation(
        services, channel="sms", address="+15550004444", verified_as=verified_as
    )


def confirm(client: TestClient, **body: Any) -> Any:
    return client.post("/internal/outreach/confirm", json=body, headers=AUTH)


def test_the_verified_patient_confirms_their_appointment_in_the_ehr(
    outreach_client: TestClient, ehr: InMemoryEhr
) -> None:
    services: Services = outreach_client.services  # type: ignore[attr-defined]
    cid = conversation(services, verified_as=PATIENT)

    answer = confirm(outreach_client, conversation_id=cid, appointment_id="appt-1")

    assert answer.status_code == 200 and answer.json() == {"confirmed": True}
    responses = ehr._all("AppointmentResponse")
    assert [(r["appointment"]["reference"], r["participantStatus"]) for r in responses] == [
        ("Appointment/appt-1", "accepted")
    ]
    with services.session_factory() as session:
        audit = session.scalars(select(AccessAudit)).all()
    assert [(row.action, row.outcome) for row in audit] == [
        ("write.appointment_confirmation", "success")
    ]


def test_an_unverified_conversation_cannot_confirm(outreach_client: TestClient) -> None:
    services: Services = outreach_client.services  # type: ignore[attr-defined]
    cid = conversation(services, verified_as=None)

    answer = confirm(outreach_client, conversation_id=cid, appointment_id="appt-1")

    assert answer.status_code == 403 and answer.json() == {"detail": "not_verified"}


def test_someone_elses_appointment_is_not_found(outreach_client: TestClient) -> None:
    services: Services = outreach_client.services  # type: ignore[attr-defined]
    cid = conversation(services, verified_as="pat-other")

    answer = confirm(outreach_client, conversation_id=cid, appointment_id="appt-1")

    assert answer.status_code == 404 and answer.json() == {"detail": "not_found"}


def test_a_past_visit_cannot_be_confirmed(outreach_client: TestClient) -> None:
    services: Services = outreach_client.services  # type: ignore[attr-defined]
    cid = conversation(services, verified_as=PATIENT)

    answer = confirm(outreach_client, conversation_id=cid, appointment_id="appt-done")

    assert answer.status_code == 409 and answer.json() == {"detail": "not_booked"}


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "x"},
        {"conversation_id": "x", "appointment_id": "../Patient/1"},
        {"conversation_id": "", "appointment_id": "appt-1"},
    ],
)
def test_bad_input_is_a_clear_422(outreach_client: TestClient, body: dict[str, str]) -> None:
    assert confirm(outreach_client, **body).status_code == 422


def test_without_the_service_token_nothing_is_confirmed(outreach_client: TestClient) -> None:
    answer = outreach_client.post(
        "/internal/outreach/confirm", json={"conversation_id": "x", "appointment_id": "appt-1"}
    )
    assert answer.status_code in (401, 403)
