"""The clinicians' queue and what they do with a hand-off (signed-in clinicians only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, status

from backend.api.console_auth import CurrentClinician, SessionDep
from backend.api.deps import ServicesDep
from backend.db.models import Handoff
from backend.handoff import service
from backend.handoff.schemas import (
    HandoffPublic,
    HandoffsPublic,
    ResolveIn,
    TranscriptPublic,
    TransferIn,
    handoff_public,
    message_public,
)
from backend.handoff.states import InvalidTransition
from backend.hub.transcript import transcript

router = APIRouter(prefix="/console/api", tags=["console"])


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


@router.get("/queue")
def get_queue(
    _clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> HandoffsPublic:
    """Waiting and held conversations, most urgent first, then longest waiting."""
    rows = service.queue(session=session)
    data = [_public(session, services, row) for row in rows]
    return HandoffsPublic(data=data, count=len(data))


@router.post("/handoffs/{handoff_id}/claim")
def claim_handoff(
    handoff_id: int, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> HandoffPublic:
    """Take a waiting conversation (409 "already taken" if another clinician was first)."""
    with _errors():
        handoff = service.claim(session=session, handoff_id=handoff_id, clinician_id=clinician.id)
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/transfer")
def transfer_handoff(
    handoff_id: int,
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
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/release")
def release_handoff(
    handoff_id: int, clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> HandoffPublic:
    """Put a conversation you hold back in the queue."""
    with _errors():
        handoff = service.release(session=session, handoff_id=handoff_id, clinician_id=clinician.id)
    return _public(session, services, handoff)


@router.post("/handoffs/{handoff_id}/resolve")
def resolve_handoff(
    handoff_id: int,
    body: ResolveIn,
    clinician: CurrentClinician,
    session: SessionDep,
    services: ServicesDep,
) -> HandoffPublic:
    """Finish a conversation you hold: hand it back to the assistant, or close it."""
    with _errors():
        handoff = service.resolve(
            session=session,
            handoff_id=handoff_id,
            clinician_id=clinician.id,
            hand_back=body.hand_back,
        )
    return _public(session, services, handoff)


@router.get("/handoffs/{handoff_id}/transcript")
def handoff_transcript(
    handoff_id: int, _clinician: CurrentClinician, session: SessionDep, services: ServicesDep
) -> TranscriptPublic:
    """The conversation's message log, decrypted, oldest first."""
    with _errors():
        handoff = service.get_handoff(session=session, handoff_id=handoff_id)
    lines = transcript(
        session=session, cipher=services.cipher, conversation_id=handoff.conversation_id
    )
    data = [message_public(line) for line in lines]
    return TranscriptPublic(data=data, count=len(data))
