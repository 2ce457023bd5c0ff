"""A small world for identity tests: the seeded clinic, conversations on every channel, and
the development outbox where the codes land (tests/backend/test_identity_*.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import delete

from backend.core.config import Settings
from backend.db.models import DevOutboxMessage
from backend.ehr.domain import PatientSummary
from backend.ehr.fake import InMemoryEhr
from backend.hub import transcript
from backend.hub.transports import dev_outbox
from backend.main import create_app
from backend.services import Services, build_services
from channels.base import InboundMessage
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.rest_client import address as rest_address

MATEO = "pat-002"  # adult, phone shared with his children Valentina (pat-037) and Diego (pat-038)
VALENTINA = "pat-037"
DIEGO = "pat-038"
SIOBHAN = "pat-001"  # adult, her son Ciarán (pat-042) shares her phone
ZOE = "pat-003"  # adult living alone
WEI = "pat-007"  # another adult, the "patient B" of the IDOR sweep
NO_PHONE_PATIENT = "pat-014"  # an adult with no phone on file
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class World:
    services: Services
    ehr: InMemoryEhr
    client: TestClient
    headers: dict[str, str]

    def patient(self, patient_id: str) -> PatientSummary:
        from backend.ehr import mapping

        return mapping.patient_summary(self.ehr._model(self.ehr.resource("Patient", patient_id)))

    def birth_date(self, patient_id: str) -> date:
        born = self.patient(patient_id).birth_date
        assert born is not None
        return born

    def conversation(self, channel: str, address: str, text: str = "hello") -> str:
        """A conversation with one message from the patient, as the channel routes make it."""
        with self.services.session_factory() as session:
            conversation = transcript.get_or_create_conversation(
                session=session, cipher=self.services.cipher, channel=channel, address=address
            )
            transcript.log_inbound(
                session=session,
                cipher=self.services.cipher,
                conversation=conversation,
                message=InboundMessage(channel=channel, address=address, text=text),
                text=text,
            )
            return conversation.id

    def rest_conversation(self, sender: str, *, client: str = "testclient") -> str:
        """A REST conversation opened through the webhook by a client at `client`, as a
        script on the network would (the hub notes the client: backend/identity/sources.py)."""
        # Not entered as a context: the app is already started by `self.client`.
        other = TestClient(self.client.app, client=(client, 50000), headers=REST_HEADERS)
        response = other.post("/channels/rest/webhook", json={"sender": sender, "message": "hi"})
        assert response.status_code == 200, response.text
        with self.services.session_factory() as session:
            found = transcript.get_or_create_conversation(
                session=session,
                cipher=self.services.cipher,
                channel="rest",
                address=rest_address(sender),
            )
            return found.id

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        response = self.client.post(f"/internal/identity/{path}", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        data: dict[str, object] = response.json()
        return data

    def outbox(self) -> list[tuple[str, str]]:
        """(to, text) of every message that would have left, oldest first."""
        with self.services.session_factory() as session:
            entries = dev_outbox(session=session, cipher=self.services.cipher)
        return [(e.to, e.text) for e in reversed(entries)]

    def last_code(self, to: str) -> str:
        texts = [text for dest, text in self.outbox() if dest == to]
        assert texts, "no code was sent to that number"
        found = CODE.search(texts[-1])
        assert found is not None
        return found.group(1)

    def clear_outbox(self) -> None:
        with self.services.session_factory() as session:
            session.execute(delete(DevOutboxMessage))
            session.commit()

    def verify(self, conversation_id: str, patient_id: str, **start: object) -> dict[str, object]:
        """The whole happy path for a patient on their own phone: start, then the code."""
        step = self.post(
            "start",
            {
                "conversation_id": conversation_id,
                "birth_date": self.birth_date(patient_id).isoformat(),
                **start,
            },
        )
        assert step["outcome"] == "awaiting_code", step
        code = self.last_code(self.patient(patient_id).phones[0])
        return self.post("confirm", {"conversation_id": conversation_id, "code": code})


def make_world(settings: Settings, ehr: InMemoryEhr | None = None) -> tuple[World, TestClient]:
    services = build_services(settings, rasa=FakeRasa(), ehr=ehr or InMemoryEhr.from_seed())
    client = TestClient(create_app(settings, services))
    assert isinstance(services.ehr, InMemoryEhr)
    headers = {"Authorization": f"Bearer {settings.service_token}"}
    return World(services, services.ehr, client, headers), client


@contextmanager
def world_for(settings: Settings, ehr: InMemoryEhr | None = None) -> Iterator[World]:
    """The world, with the app started (and stopped after)."""
    made, client = make_world(settings, ehr)
    with client:
        yield made
