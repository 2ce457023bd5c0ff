"""Appointments for the action server: search, book, list, cancel, reschedule, request.

Every route names the conversation; `require_subject` decides whose appointments it may touch
(the verified patient, or a child in their care), and every read, write and refusal is written
to the access audit. Bodies, not query strings, carry the conversation id, so it stays out of
access logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from backend.api.deps import ServiceCaller, ServicesDep
from backend.appointments.calendar import ClinicCalendar
from backend.appointments.schemas import (
    BookedPublic,
    BookIn,
    CancelIn,
    CancelledPublic,
    ListPublic,
    RequestedPublic,
    RequestIn,
    RescheduleIn,
    SearchIn,
    SearchPublic,
    SubjectBody,
)
from backend.appointments.service import AppointmentDesk
from backend.db.models import Conversation, utcnow
from backend.ehr.errors import EhrError, InvalidState, NotFound
from backend.identity.access import AccessDenied, NotInCare, require_subject, verified_identity
from backend.identity.audit import record_access
from backend.services import Services

router = APIRouter(prefix="/internal/appointments", tags=["internal"], dependencies=[ServiceCaller])


class Caller:
    """The patient a call acts on, the conversation's channel and the desk to act with."""

    def __init__(
        self, session: Session, conversation_id: str, patient_id: str, desk: AppointmentDesk
    ) -> None:
        self.session = session
        self.conversation_id = conversation_id
        self.patient_id = patient_id
        self.desk = desk
        conversation = session.get(Conversation, conversation_id)
        self.channel = conversation.channel if conversation is not None else ""

    def audit(self, action: str, outcome: str, detail: str | None = None) -> None:
        record_access(
            session=self.session,
            conversation_id=self.conversation_id,
            patient_id=self.patient_id,
            action=action,
            outcome=outcome,
            detail=detail,
        )


def desk_for(services: Services) -> AppointmentDesk:
    """The desk with the EHR, the clinic's zone and policy, and the current time."""
    if services.ehr is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable")
    settings = services.settings
    return AppointmentDesk(
        ehr=services.ehr,
        calendar=ClinicCalendar(tz=ZoneInfo(settings.clinic_timezone)),
        now=utcnow(),
        cancel_notice=timedelta(hours=settings.appointment_cancel_notice_hours),
        what_to_bring=settings.appointment_what_to_bring,
        clinic_phone=settings.clinic_phone,
    )


def _patient_for(services: Services, session: Session, body: SubjectBody) -> str:
    for_patient = body.for_patient
    if body.for_child and for_patient is None:
        identity = verified_identity(
            session=session, cipher=services.cipher, conversation_id=body.conversation_id
        )
        children = sorted(identity.dependants) if identity else []
        if len(children) != 1:
            # None: nobody to book for; several: the patient must say which (by name, later).
            raise NotInCare(body.conversation_id)
        for_patient = children[0]
    return require_subject(
        session=session,
        cipher=services.cipher,
        conversation_id=body.conversation_id,
        for_patient=for_patient,
    )


@contextmanager
def caller_for(services: Services, body: SubjectBody, action: str) -> Iterator[Caller]:
    """Check access (403 with the refusal's code), then map EHR failures to 4xx/503."""
    desk = desk_for(services)
    with services.session_factory() as session:
        try:
            patient_id = _patient_for(services, session, body)
        except AccessDenied as exc:
            record_access(
                session=session,
                conversation_id=body.conversation_id,
                patient_id=None,
                action=action,
                outcome="denied",
                detail=exc.code,
            )
            raise HTTPException(status.HTTP_403_FORBIDDEN, exc.code) from exc
        caller = Caller(session, body.conversation_id, patient_id, desk)
        try:
            yield caller
        except NotFound as exc:
            caller.audit(action, "failure", "not_found")
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not_found") from exc
        except InvalidState as exc:
            caller.audit(action, "failure", "invalid_state")
            raise HTTPException(status.HTTP_409_CONFLICT, "invalid_state") from exc
        except EhrError as exc:
            caller.audit(action, "error", type(exc).__name__)
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable") from exc


@router.post("/search")
async def search_route(body: SearchIn, services: ServicesDep) -> SearchPublic:
    """Fold the patient's words into the request; the question still needed, or free slots."""
    with caller_for(services, body, "read.slots") as caller:
        found = await caller.desk.search(
            criteria=body.criteria.to_criteria(), text=body.text, exclude=frozenset(body.exclude)
        )
        caller.audit("read.slots", "success", f"slots={len(found.slots)};alt={found.alternative}")
        return found


@router.post("/book")
async def book_route(body: BookIn, services: ServicesDep) -> BookedPublic:
    """Book a free slot for the patient (or say it was taken and offer the next ones)."""
    with caller_for(services, body, "write.appointment.book") as caller:
        booked = await caller.desk.book(
            patient_id=caller.patient_id,
            slot_id=body.slot_id,
            reason=body.reason,
            criteria=body.criteria.to_criteria(),
            channel=caller.channel,
        )
        caller.audit("write.appointment.book", "success", booked.outcome)
        return booked


@router.post("/list")
async def list_route(body: SubjectBody, services: ServicesDep) -> ListPublic:
    """The patient's upcoming appointments."""
    with caller_for(services, body, "read.appointments") as caller:
        found = await caller.desk.upcoming(patient_id=caller.patient_id, channel=caller.channel)
        caller.audit("read.appointments", "success", f"count={len(found.appointments)}")
        return found


@router.post("/cancel")
async def cancel_route(body: CancelIn, services: ServicesDep) -> CancelledPublic:
    """Cancel one of the patient's appointments (late cancellations are flagged)."""
    with caller_for(services, body, "write.appointment.cancel") as caller:
        done = await caller.desk.cancel(
            patient_id=caller.patient_id, appointment_id=body.appointment_id
        )
        caller.audit("write.appointment.cancel", "success", f"late={int(done.late)}")
        return done


@router.post("/reschedule")
async def reschedule_route(body: RescheduleIn, services: ServicesDep) -> BookedPublic:
    """Move one of the patient's appointments to another free slot."""
    with caller_for(services, body, "write.appointment.reschedule") as caller:
        moved = await caller.desk.reschedule(
            patient_id=caller.patient_id,
            appointment_id=body.appointment_id,
            slot_id=body.slot_id,
            criteria=body.criteria.to_criteria(),
            channel=caller.channel,
        )
        caller.audit("write.appointment.reschedule", "success", moved.outcome)
        return moved


@router.post("/request")
async def request_route(body: RequestIn, services: ServicesDep) -> RequestedPublic:
    """Ask the clinic's staff to find a time when nothing suitable was free."""
    with caller_for(services, body, "write.appointment.request") as caller:
        requested = await caller.desk.request(
            patient_id=caller.patient_id,
            criteria=body.criteria.to_criteria(),
            reason=body.reason,
        )
        caller.audit("write.appointment.request", "success")
        return requested
