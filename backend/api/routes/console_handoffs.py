"""The clinicians' queue and what they do with a hand-off (signed-in clinicians only).

Plain `def` routes use the request's session (FastAPI runs them in its thread pool). The
`async def` ones await the EHR, Rasa or a provider, so they use the database only in short
`DbWork` steps (backend/db/work.py) and hold no session across those awaits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from sqlalchemy.orm import Session

from backend.api.console_auth import AsyncClinician, CurrentClinician, SessionDep
from backend.api.deps import ServicesDep
from backend.db.models import Clinician, Handoff, as_utc
from backend.handoff import console_audit, notes, service
from backend.handoff.console_access import ReadRefused, check_read, verified_patient
from backend.handoff.console_audit import ConsoleEvent
from backend.handoff.flow import HandoffFlow, NotDelivered
from backend.handoff.schemas import (
    CannedRepliesPublic,
    CannedReplyPublic,
    HandoffPublic,
    HandoffsPublic,
    NoteIn,
    NotePublic,
    NotesPublic,
    ReplyIn,
    ReplySentPublic,
    ResolveIn,
    TranscriptPublic,
    TransferIn,
    handoff_public,
    message_public,
)
from backend.handoff.states import InvalidTransition
from backend.hub.transcript import transcript
from backend.services import Services

router = APIRouter(prefix="/console/api", tags=["console"])
# Bounded to what the database can hold: a larger id was a 500 (SQLite's OverflowError).
HandoffId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@contextmanager
def _errors() -> Iterator[None]:
    """Hand-off exceptions become status codes with a message the console can show."""
    try:
        yield
    except service.HandoffNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except service.AlreadyClaimed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "already taken") from exc
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except service.NotHolder as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you do not hold this conversation") from exc
    except service.UnknownClinician as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def _public(session: SessionDep, services: ServicesDep, handoff: Handoff) -> HandoffPublic:
    return handoff_public(session=session, cipher=services.cipher, handoff=handoff)


def _flow(services: Services) -> HandoffFlow:
    if services.handoffs is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "hand-offs are not set up")
    return services.handoffs


def _changed(services: Services, handoff: Handoff) -> None:
    services.live.publish({"type": "queue", "handoff_id": handoff.id})


@router.get("/queue")
async def get_queue(_clinician: AsyncClinician, services: ServicesDep) -> HandoffsPublic:
    """Waiting and held conversations, most urgent first, then longest waiting; with the
    patient's verified identity when there is one."""

    def rows(session: Session) -> tuple[list[HandoffPublic], dict[str, str]]:
        handoffs = service.queue(session=session)
        data = [_public(session, services, row) for row in handoffs]
        if services.handoffs is None:
            return data, {}
        verified = services.handoffs.labels.verified_patients(
            session=session,
            cipher=services.cipher,
            conversation_ids=[row.conversation_id for row in data],
        )
        return data, verified

    data, verified = await services.db.run(rows)
    if services.handoffs is not None:
        for row in data:
            if row.conversation_id in verified:
                row.patient = await services.handoffs.labels.identity(verified[row.conversation_id])
    return HandoffsPublic(data=data, count=len(data))


@router.post("/handoffs/{handoff_id}/claim")
def claim_handoff(
    handoff_id: HandoffId, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> HandoffPublic:
    """Take a waiting conversation (409 "already taken" if another clinician was first)."""
    with _errors():
        handoff = service.claim(session=session, handoff_id=handoff_id, clinician_id=clinician.id)
    _changed(services, handoff)
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/transfer")
def transfer_handoff(
    handoff_id: HandoffId,
    body: TransferIn,
    clinician: CurrentClinician,
    session: SessionDep,
    services: ServicesDep,
) -> HandoffPublic:
    """Give a conversation you hold to another clinician."""
    with _errors():
        handoff = service.transfer(
            session=session,
            handoff_id=handoff_id,
            clinician_id=clinician.id,
            to_clinician_id=body.to_clinician_id,
        )
    _changed(services, handoff)
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/release")
def release_handoff(
    handoff_id: HandoffId, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> HandoffPublic:
    """Put a conversation you hold back in the queue."""
    with _errors():
        handoff = service.release(session=session, handoff_id=handoff_id, clinician_id=clinician.id)
    _changed(services, handoff)
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/resolve")
async def resolve_handoff(
    handoff_id: HandoffId,
    body: ResolveIn,
    clinician: AsyncClinician,
    services: ServicesDep,
) -> HandoffPublic:
    """Finish a conversation you hold: hand it back to the assistant (which greets the
    patient), or close it. Either way Rasa is resumed."""
    with _errors():
        handoff = await _flow(services).resolve(
            handoff_id=handoff_id, clinician_id=clinician.id, hand_back=body.hand_back
        )
    return await services.db.run(lambda session: _public(session, services, handoff))


@router.post("/handoffs/{handoff_id}/reply")
async def reply_to_patient(
    handoff_id: HandoffId, body: ReplyIn, clinician: AsyncClinician, services: ServicesDep
) -> ReplySentPublic:
    """Send a message to the patient on their own channel (holder only). It is recorded in the
    transcript and in the assistant's history; 502 when the channel refused it."""
    with _errors():
        try:
            sent = await _flow(services).reply(
                handoff_id=handoff_id, clinician_id=clinician.id, text=body.text
            )
        except NotDelivered as exc:
            raise HTTPException(
                status.HTTP_502_BAD_GATEWAY,
                "recorded in the transcript, but the patient's channel did not accept it "
                "(opted out, outside WhatsApp's 24-hour window, or the provider refused)",
            ) from exc
    return ReplySentPublic(sent=sent)


def _may_read(
    session: Session,
    services: Services,
    request: Request,
    *,
    clinician: Clinician,
    handoff_id: int,
    action: str,
) -> tuple[Handoff, datetime | None]:
    """The hand-off and the moment its reading stops (see console_access.check_read), after
    auditing the read; 403 (audited too) when the clinician may not read it."""
    with _errors():
        handoff = service.get_handoff(session=session, handoff_id=handoff_id)
    patient_id = verified_patient(
        session=session, cipher=services.cipher, conversation_id=handoff.conversation_id
    )

    def event(outcome: str, detail: str | None = None) -> ConsoleEvent:
        return ConsoleEvent(
            action,
            outcome,
            clinician.id,
            handoff_id=handoff.id,
            conversation_id=handoff.conversation_id,
            patient_id=patient_id,
            client=request.client.host if request.client else None,
            detail=detail,
        )

    try:
        until = check_read(clinician=clinician, handoff=handoff)
    except ReadRefused as exc:
        console_audit.audit_from_thread(
            session=session, ehr=services.ehr, event=event("denied", exc.why)
        )
        raise HTTPException(status.HTTP_403_FORBIDDEN, exc.message) from exc
    console_audit.audit_from_thread(session=session, ehr=services.ehr, event=event("success"))
    return handoff, until


@router.get("/handoffs/{handoff_id}/transcript")
def handoff_transcript(
    handoff_id: HandoffId,
    clinician: CurrentClinician,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
) -> TranscriptPublic:
    """The conversation's message log, decrypted, oldest first (403 unless you hold or handled
    it, or lead triage; a waiting one is read after claiming it). Every read is audited."""
    handoff, until = _may_read(
        session,
        services,
        request,
        clinician=clinician,
        handoff_id=handoff_id,
        action=console_audit.TRANSCRIPT_READ,
    )
    lines = transcript(
        session=session, cipher=services.cipher, conversation_id=handoff.conversation_id
    )
    data = [message_public(line) for line in lines if until is None or as_utc(line.at) <= until]
    return TranscriptPublic(data=data, count=len(data))


@router.get("/handoffs/{handoff_id}/notes")
def handoff_notes(
    handoff_id: HandoffId,
    clinician: CurrentClinician,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
) -> NotesPublic:
    """Private notes on the hand-off (never shown to the patient); read as the transcript is."""
    _may_read(
        session,
        services,
        request,
        clinician=clinician,
        handoff_id=handoff_id,
        action=console_audit.NOTES_READ,
    )
    with _errors():
        rows = notes.list_notes(session=session, cipher=services.cipher, handoff_id=handoff_id)
    data = [NotePublic(id=n.id, author=n.author, text=n.text, at=n.at) for n in rows]
    return NotesPublic(data=data, count=len(data))


@router.post("/handoffs/{handoff_id}/notes", status_code=status.HTTP_201_CREATED)
def add_handoff_note(
    handoff_id: HandoffId,
    body: NoteIn,
    clinician: CurrentClinician,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
) -> NotePublic:
    """Add a private note (encrypted at rest, never sent to the patient); who may read the
    notes may add one."""
    _may_read(
        session,
        services,
        request,
        clinician=clinician,
        handoff_id=handoff_id,
        action=console_audit.NOTE_WRITE,
    )
    with _errors():
        note = notes.add_note(
            session=session,
            cipher=services.cipher,
            handoff_id=handoff_id,
            clinician_id=clinician.id,
            text=body.text,
        )
    return NotePublic(id=note.id, author=note.author, text=note.text, at=note.at)


@router.get("/canned-replies")
def canned_replies(_clinician: CurrentClinician) -> CannedRepliesPublic:
    """The clinic's ready-made replies (backend/handoff/canned_replies.yml)."""
    data = [CannedReplyPublic(id=r.id, title=r.title, text=r.text) for r in notes.canned_replies()]
    return CannedRepliesPublic(data=data, count=len(data))
