"""Factories for console access tests: accounts with a role, hand-offs in a given state,
patient messages at chosen moments, and signing in (with a TOTP code when asked)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from backend.db.models import Clinician, Message, utcnow
from backend.handoff import service
from backend.handoff.states import Reason
from backend.services import Services
from tests.backend.conftest import patient_conversation
from tests.utils.handoffs import PASSWORD, make_clinician

LOGIN = "/console/api/login"


def make_account(services: Services, email: str, *, role: str = "clinician") -> int:
    """A console account (the shared password) with `role`; returns its id."""
    with services.session_factory() as session:
        clinician = make_clinician(session, email=email, name=email.split("@")[0].title())
        clinician.role = role
        session.commit()
        return clinician.id


def patient_wrote(
    services: Services, conversation_id: str, text: str, at: datetime | None = None
) -> None:
    """A patient message in the log (the transcript), at `at` (default now)."""
    with services.session_factory() as session:
        session.add(
            Message(
                conversation_id=conversation_id,
                channel="rest",
                direction="in",
                author="patient",
                text_ciphertext=services.cipher.encrypt(text),
                created_at=at or utcnow(),
            )
        )
        session.commit()


def waiting_handoff(
    services: Services, *, address: str, verified_as: str | None = None, said: str = "hello"
) -> tuple[int, str]:
    """A conversation that said `said` and waits in the queue: (hand-off id, conversation id)."""
    conversation_id = patient_conversation(services, address=address, verified_as=verified_as)
    patient_wrote(services, conversation_id, said)
    with services.session_factory() as session:
        handoff, _ = service.open_handoff(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id,
            reason=Reason.PATIENT_REQUEST,
        )
        return handoff.id, conversation_id


def signed_in(client: TestClient, email: str, code: str | None = None) -> TestClient:
    body: dict[str, str] = {"email": email, "password": PASSWORD}
    if code is not None:
        body["code"] = code
    response = client.post(LOGIN, json=body)
    assert response.status_code == 200, response.text
    return client


def role_of(services: Services, clinician_id: int) -> str:
    with services.session_factory() as session:
        found = session.get(Clinician, clinician_id)
        assert found is not None
        return found.role
