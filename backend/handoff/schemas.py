"""Wire formats of the console and internal hand-off API: never the table rows themselves.

Nothing here carries a phone number or a chat id: clinicians see the channel's name only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Clinician, Conversation, Handoff, as_utc
from backend.handoff.service import decrypt_summary, queue_position, waited_seconds
from backend.handoff.states import Priority, Reason, State
from backend.hub.transcript import LoggedMessage

# Times go out with their zone: SQLite gives stored times back naive, which a browser would
# read as its own local time (and the document promises RFC 3339 date-times).
UtcTime = Annotated[datetime, AfterValidator(as_utc)]


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class ClinicianPublic(BaseModel):
    id: int
    name: str
    email: str

    @classmethod
    def of(cls, clinician: Clinician) -> ClinicianPublic:
        return cls(id=clinician.id, name=clinician.name, email=clinician.email)


class ClinicianRef(BaseModel):
    id: int
    name: str


class PatientIdentity(BaseModel):
    """Who a verified conversation is with: a minimal label (initials and birth year) and the
    FHIR Patient id for looking the record up. None in the queue when not verified."""

    label: str
    fhir_id: str


class HandoffPublic(BaseModel):
    """One conversation in the console's queue."""

    id: int
    conversation_id: str
    state: State
    reason: Reason
    priority: Priority
    summary: dict[str, Any] | None
    channel: str
    waiting_since: UtcTime
    waited_seconds: int
    claimed_by: ClinicianRef | None
    outcome: str | None
    patient: PatientIdentity | None = None


class HandoffsPublic(BaseModel):
    data: list[HandoffPublic]
    count: int


class TransferIn(BaseModel):
    to_clinician_id: int = Field(ge=1, le=2**63 - 1)  # past SQLite's integers: a 500


class ResolveIn(BaseModel):
    """`hand_back`: the assistant picks the conversation up again; otherwise it is closed."""

    hand_back: bool = True


class ButtonPublic(BaseModel):
    title: str
    payload: str


class MessagePublic(BaseModel):
    author: str
    direction: str
    text: str
    buttons: list[ButtonPublic]
    at: UtcTime


class TranscriptPublic(BaseModel):
    data: list[MessagePublic]
    count: int


class HandoffCreate(BaseModel):
    """What the action server sends to escalate a conversation."""

    conversation_id: str = Field(min_length=1, max_length=64)
    reason: Reason
    priority: Priority | None = None  # default: from the reason
    summary: dict[str, Any] | None = None


class HandoffOpenedPublic(BaseModel):
    """What the action server needs to tell the patient what happens next."""

    id: int
    state: State
    priority: Priority
    created: bool
    queue_position: int
    waiting_count: int
    # What to tell the patient: the usual wait, and whether anyone is in right now.
    expected_wait_minutes: int = 0
    clinic_open: bool = True
    clinic_hours: str = ""
    clinic_phone: str = ""
    emergency_number: str = ""


class ReplyIn(BaseModel):
    """A clinician's message to the patient."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1600)]


class ReplySentPublic(BaseModel):
    sent: int


class NoteIn(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class NotePublic(BaseModel):
    id: int
    author: str
    text: str
    at: UtcTime


class NotesPublic(BaseModel):
    data: list[NotePublic]
    count: int


class CannedReplyPublic(BaseModel):
    id: str
    title: str
    text: str


class CannedRepliesPublic(BaseModel):
    data: list[CannedReplyPublic]
    count: int


def handoff_public(*, session: Session, cipher: Cipher, handoff: Handoff) -> HandoffPublic:
    conversation = session.get(Conversation, handoff.conversation_id)
    holder = session.get(Clinician, handoff.claimed_by) if handoff.claimed_by else None
    return HandoffPublic(
        id=handoff.id,
        conversation_id=handoff.conversation_id,
        state=State(handoff.state),
        reason=Reason(handoff.reason),
        priority=Priority(handoff.priority),
        summary=decrypt_summary(cipher, handoff),
        channel=conversation.channel if conversation else "unknown",
        waiting_since=handoff.waiting_since,
        waited_seconds=waited_seconds(handoff),
        claimed_by=ClinicianRef(id=holder.id, name=holder.name) if holder else None,
        outcome=handoff.outcome,
    )


def handoff_opened(
    *, session: Session, handoff: Handoff, created: bool, waiting_count: int
) -> HandoffOpenedPublic:
    return HandoffOpenedPublic(
        id=handoff.id,
        state=State(handoff.state),
        priority=Priority(handoff.priority),
        created=created,
        queue_position=queue_position(session=session, handoff=handoff),
        waiting_count=waiting_count,
    )


def message_public(line: LoggedMessage) -> MessagePublic:
    return MessagePublic(
        author=line.author,
        direction=line.direction,
        text=line.text,
        buttons=[ButtonPublic(title=b["title"], payload=b["payload"]) for b in line.buttons],
        at=line.at,
    )
