"""A small clinic for outreach tests: one patient on SMS, the in-memory EHR, a Rasa double
and a provider double that counts what reaches it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.migrate import upgrade
from backend.db.session import make_engine, make_session_factory
from backend.db.work import DbWork
from backend.ehr import codes
from backend.ehr.fake import InMemoryEhr
from backend.hub import transcript
from backend.hub.outbound import PhoneOutbound
from backend.outreach.contacts import remember_contact
from backend.outreach.dispatch import Dispatcher
from backend.outreach.kinds import OutreachConfig
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa

PATIENT = "pat-outreach-1"
PHONE = "+15550002222"


@dataclass
class CountingProvider:
    """Stands in for Twilio: every body handed over is kept, in order."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    crash_after_send: bool = False
    taken_at: list[datetime] = field(default_factory=list)  # when each of `sent` was taken

    def send(self, *, channel: str, to: str, body: str) -> tuple[str | None, str]:
        self.sent.append((to, body))
        self.taken_at.append(datetime.now(UTC))
        return f"SM{len(self.sent):032d}", "queued"

    def sent_since(self, *, channel: str, to: str, since: datetime) -> set[str]:
        return {
            f"SM{n:032d}"
            for n, ((number, _), at) in enumerate(zip(self.sent, self.taken_at, strict=True), 1)
            if number == to and at >= since
        }

    def send_template(
        self, *, channel: str, to: str, content_sid: str, variables: dict[str, str]
    ) -> tuple[str | None, str]:
        return self.send(channel=channel, to=to, body=content_sid)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def appointment(appt_id: str, start: datetime, status: str = "booked") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": appt_id,
        "status": status,
        "start": iso(start),
        "end": iso(start.replace(minute=30)),
        "participant": [
            {"actor": {"reference": f"Patient/{PATIENT}"}, "status": "accepted"},
            {
                "actor": {"reference": "Practitioner/dr-1", "display": "Dr Ana Rivera"},
                "status": "accepted",
            },
            {
                "actor": {"reference": "Location/loc-1", "display": "Riverside Main"},
                "status": "accepted",
            },
        ],
    }


def lab_report(report_id: str, issued: datetime) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": "final",
        "code": {"text": "Lipid panel"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": iso(issued),
        "issued": iso(issued),
    }


def medication_request(med_id: str, authored: datetime, remaining: int = 2) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": med_id,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Lisinopril 10 mg tablet"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "authoredOn": iso(authored),
        "requester": {"reference": "Practitioner/dr-1", "display": "Dr Ana Rivera"},
        "dispenseRequest": {
            "extension": [{"url": codes.EXT_REFILLS_REMAINING, "valueUnsignedInt": remaining}],
            "numberOfRepeatsAllowed": 2,
            "expectedSupplyDuration": {"value": 30, "unit": "days", "code": "d"},
        },
    }


@dataclass
class Clinic:
    """Everything an outreach test touches, wired together."""

    settings: Settings
    session_factory: sessionmaker[Session]
    cipher: Cipher
    ehr: InMemoryEhr
    rasa: FakeRasa
    provider: CountingProvider
    dispatcher: Dispatcher
    conversation_id: str

    @property
    def bodies(self) -> list[str]:
        return [body for _, body in self.provider.sent]

    def consent_to(self, kinds: list[str]) -> None:
        """Record that the patient now agrees to exactly these kinds of message."""
        with self.session_factory() as session:
            remember_contact(
                session=session,
                cipher=self.cipher,
                patient_id=PATIENT,
                conversation_id=self.conversation_id,
                consents=kinds,
            )


def open_clinic(
    tmp_path: Path,
    resources: list[dict[str, Any]],
    *,
    database_url: str | None = None,
    **overrides: object,
) -> Clinic:
    """A migrated database, a patient reachable on SMS with every consent, and the EHR."""
    if database_url is not None:
        overrides["database_url"] = database_url
    settings = make_settings(tmp_path, **overrides)
    upgrade(settings.effective_database_url)
    session_factory = make_session_factory(make_engine(settings.effective_database_url))
    cipher = Cipher(settings.encryption_key)
    provider = CountingProvider()
    patient = {"resourceType": "Patient", "id": PATIENT, "name": [{"family": "Doe"}]}
    ehr = InMemoryEhr([patient, *resources])
    rasa = FakeRasa()
    with session_factory() as session:
        conversation = transcript.get_or_create_conversation(
            session=session, cipher=cipher, channel="sms", address=PHONE
        )
        conversation_id = conversation.id
        remember_contact(
            session=session, cipher=cipher, patient_id=PATIENT, conversation_id=conversation_id
        )
    db = DbWork(session_factory, threads=settings.db_threads)
    phone = PhoneOutbound(db=db, cipher=cipher, transport=provider)
    dispatcher = Dispatcher(
        session_factory=session_factory,
        db=db,
        cipher=cipher,
        ehr=ehr,
        rasa=rasa,
        config=OutreachConfig.from_settings(settings),
        phone=phone,
    )
    return Clinic(
        settings, session_factory, cipher, ehr, rasa, provider, dispatcher, conversation_id
    )
