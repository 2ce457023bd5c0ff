"""The one way an internal route reaches patient data: check access, audit, map EHR errors.

`patient_subject` asks `require_subject` whose record the conversation may touch (the
verified patient, a dependant named by `for_patient`, or their only child with `for_child`),
answers 403 with the refusal's code otherwise, and turns EHR failures into 404 / 409 / 503.
Every refusal and failure is written to the access audit; routes audit their successes with
`Subject.audit`.

The database is used in short steps off the event loop (`DbWork`, backend/db/work.py): one
resolves the subject, and each audit row is a step of its own. The route awaits the EHR
between them, so no connection is held while the EHR answers: a slow EHR must not drain the
pool that every conversation shares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Conversation
from backend.db.work import DbWork
from backend.ehr.errors import EhrError, InvalidState, NotFound
from backend.identity.access import AccessDenied, NotInCare, require_subject, verified_identity
from backend.identity.audit import record_access
from backend.services import Services


@dataclass(frozen=True)
class Subject:
    """The patient a call acts on, resolved before the EHR is asked."""

    db: DbWork
    conversation_id: str
    patient_id: str
    channel: str  # the conversation's ("" if it is gone): what may be said depends on it

    async def audit(self, action: str, outcome: str, detail: str | None = None) -> None:
        """One audit row, written in a database step of its own."""
        await self.db.run(partial(self.audit_in, action=action, outcome=outcome, detail=detail))

    def audit_in(
        self, session: Session, *, action: str, outcome: str, detail: str | None = None
    ) -> None:
        """The same row, written with `session` inside a database step of the caller's."""
        record_access(
            session=session,
            conversation_id=self.conversation_id,
            patient_id=self.patient_id,
            action=action,
            outcome=outcome,
            detail=detail,
        )


@asynccontextmanager
async def patient_subject(
    services: Services,
    *,
    conversation_id: str,
    action: str,
    for_patient: str | None = None,
    for_child: bool = False,
    conflict: str | None = None,
) -> AsyncIterator[Subject]:
    """Check access (403 with the refusal's code), then audit and map EHR failures:
    NotFound 404; InvalidState 409 with `conflict` as its detail when the caller names one
    (a slot or appointment no longer in the right state); anything else 503."""
    db = services.db
    try:
        patient_id, channel = await db.run(
            partial(_resolve, services.cipher, conversation_id, for_patient, for_child)
        )
    except AccessDenied as exc:
        await db.run(partial(_refused, conversation_id, action, exc.code))
        raise HTTPException(status.HTTP_403_FORBIDDEN, exc.code) from exc
    subject = Subject(db, conversation_id, patient_id, channel)
    try:
        yield subject
    except NotFound as exc:
        await subject.audit(action, "failure", "not_found")
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not_found") from exc
    except InvalidState as exc:
        if conflict is None:
            await subject.audit(action, "error", type(exc).__name__)
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable") from exc
        await subject.audit(action, "failure", conflict)
        raise HTTPException(status.HTTP_409_CONFLICT, conflict) from exc
    except EhrError as exc:
        await subject.audit(action, "error", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable") from exc


def _resolve(
    cipher: Cipher,
    conversation_id: str,
    for_patient: str | None,
    for_child: bool,
    session: Session,
) -> tuple[str, str]:
    """(patient id, channel) of the call, in one database step; raises AccessDenied."""
    patient_id = _patient_for(cipher, session, conversation_id, for_patient, for_child)
    conversation = session.get(Conversation, conversation_id)
    return patient_id, conversation.channel if conversation is not None else ""


def _refused(conversation_id: str, action: str, code: str, session: Session) -> None:
    record_access(
        session=session,
        conversation_id=conversation_id,
        patient_id=None,
        action=action,
        outcome="denied",
        detail=code,
    )


def _patient_for(
    cipher: Cipher,
    session: Session,
    conversation_id: str,
    for_patient: str | None,
    for_child: bool,
) -> str:
    if for_child and for_patient is None:
        identity = verified_identity(
            session=session, cipher=cipher, conversation_id=conversation_id
        )
        children = sorted(identity.dependants) if identity else []
        if len(children) != 1:
            # None: nobody to act for; several: the patient must say which (by name, later).
            raise NotInCare(conversation_id)
        for_patient = children[0]
    return require_subject(
        session=session, cipher=cipher, conversation_id=conversation_id, for_patient=for_patient
    )
