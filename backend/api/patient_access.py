"""The one way an internal route reaches patient data: check access, audit, map EHR errors.

`patient_subject` asks `require_subject` whose record the conversation may touch (the
verified patient, a dependant named by `for_patient`, or their only child with `for_child`),
answers 403 with the refusal's code otherwise, and turns EHR failures into 404 / 409 / 503.
Every refusal and failure is written to the access audit; routes audit their successes with
`Subject.audit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from backend.db.models import Conversation
from backend.ehr.errors import EhrError, InvalidState, NotFound
from backend.identity.access import AccessDenied, NotInCare, require_subject, verified_identity
from backend.identity.audit import record_access
from backend.services import Services


class Subject:
    """The patient a call acts on, with the session its audit rows go through."""

    def __init__(self, session: Session, conversation_id: str, patient_id: str) -> None:
        self.session = session
        self.conversation_id = conversation_id
        self.patient_id = patient_id

    @cached_property
    def channel(self) -> str:
        """The conversation's channel ("" if it is gone): what may be said depends on it."""
        conversation = self.session.get(Conversation, self.conversation_id)
        return conversation.channel if conversation is not None else ""

    def audit(self, action: str, outcome: str, detail: str | None = None) -> None:
        record_access(
            session=self.session,
            conversation_id=self.conversation_id,
            patient_id=self.patient_id,
            action=action,
            outcome=outcome,
            detail=detail,
        )


@contextmanager
def patient_subject(
    services: Services,
    *,
    conversation_id: str,
    action: str,
    for_patient: str | None = None,
    for_child: bool = False,
    conflict: str | None = None,
) -> Iterator[Subject]:
    """Check access (403 with the refusal's code), then audit and map EHR failures:
    NotFound 404; InvalidState 409 with `conflict` as its detail when the caller names one
    (a slot or appointment no longer in the right state); anything else 503."""
    with services.session_factory() as session:
        try:
            patient_id = _patient_for(services, session, conversation_id, for_patient, for_child)
        except AccessDenied as exc:
            record_access(
                session=session,
                conversation_id=conversation_id,
                patient_id=None,
                action=action,
                outcome="denied",
                detail=exc.code,
            )
            raise HTTPException(status.HTTP_403_FORBIDDEN, exc.code) from exc
        subject = Subject(session, conversation_id, patient_id)
        try:
            yield subject
        except NotFound as exc:
            subject.audit(action, "failure", "not_found")
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not_found") from exc
        except InvalidState as exc:
            if conflict is None:
                subject.audit(action, "error", type(exc).__name__)
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable") from exc
            subject.audit(action, "failure", conflict)
            raise HTTPException(status.HTTP_409_CONFLICT, conflict) from exc
        except EhrError as exc:
            subject.audit(action, "error", type(exc).__name__)
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable") from exc


def _patient_for(
    services: Services,
    session: Session,
    conversation_id: str,
    for_patient: str | None,
    for_child: bool,
) -> str:
    if for_child and for_patient is None:
        identity = verified_identity(
            session=session, cipher=services.cipher, conversation_id=conversation_id
        )
        children = sorted(identity.dependants) if identity else []
        if len(children) != 1:
            # None: nobody to act for; several: the patient must say which (by name, later).
            raise NotInCare(conversation_id)
        for_patient = children[0]
    return require_subject(
        session=session,
        cipher=services.cipher,
        conversation_id=conversation_id,
        for_patient=for_patient,
    )
