"""Appointments for the action server: search, book, list, cancel, reschedule, request.

Every route names the conversation; `require_subject` decides whose appointments it may touch
(the verified patient, or a child in their care), and every read, write and refusal is written
to the access audit. Bodies, not query strings, carry the conversation id, so it stays out of
access logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, status

from backend.api.deps import ServiceCaller, ServicesDep
from backend.api.patient_access import Subject, patient_subject
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
from backend.db.models import utcnow
from backend.services import Services

router = APIRouter(prefix="/internal/appointments", tags=["internal"], dependencies=[ServiceCaller])


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


@asynccontextmanager
async def caller_for(
    services: Services, body: SubjectBody, action: str
) -> AsyncIterator[tuple[Subject, AppointmentDesk]]:
    """The patient the call may act on (backend/api/patient_access.py) and the desk; a slot
    or appointment no longer in the right state is a conflict (409)."""
    desk = desk_for(services)
    async with patient_subject(
        services,
        conversation_id=body.conversation_id,
        action=action,
        for_patient=body.for_patient,
        for_child=body.for_child,
        conflict="invalid_state",
    ) as subject:
        yield subject, desk


@router.post("/search")
async def search_route(body: SearchIn, services: ServicesDep) -> SearchPublic:
    """Fold the patient's words into the request; the question still needed, or free slots."""
    async with caller_for(services, body, "read.slots") as (caller, desk):
        found = await desk.search(
            criteria=body.criteria.to_criteria(), text=body.text, exclude=frozenset(body.exclude)
        )
        await caller.audit(
            "read.slots", "success", f"slots={len(found.slots)};alt={found.alternative}"
        )
        return found


@router.post("/book")
async def book_route(body: BookIn, services: ServicesDep) -> BookedPublic:
    """Book a free slot for the patient (or say it was taken and offer the next ones)."""
    async with caller_for(services, body, "write.appointment.book") as (caller, desk):
        booked = await desk.book(
            patient_id=caller.patient_id,
            slot_id=body.slot_id,
            reason=body.reason,
            criteria=body.criteria.to_criteria(),
            channel=caller.channel,
        )
        await caller.audit("write.appointment.book", "success", booked.outcome)
        return booked


@router.post("/list")
async def list_route(body: SubjectBody, services: ServicesDep) -> ListPublic:
    """The patient's upcoming appointments."""
    async with caller_for(services, body, "read.appointments") as (caller, desk):
        found = await desk.upcoming(patient_id=caller.patient_id, channel=caller.channel)
        await caller.audit("read.appointments", "success", f"count={len(found.appointments)}")
        return found


@router.post("/cancel")
async def cancel_route(body: CancelIn, services: ServicesDep) -> CancelledPublic:
    """Cancel one of the patient's appointments (late cancellations are flagged)."""
    async with caller_for(services, body, "write.appointment.cancel") as (caller, desk):
        done = await desk.cancel(patient_id=caller.patient_id, appointment_id=body.appointment_id)
        await caller.audit("write.appointment.cancel", "success", f"late={int(done.late)}")
        return done


@router.post("/reschedule")
async def reschedule_route(body: RescheduleIn, services: ServicesDep) -> BookedPublic:
    """Move one of the patient's appointments to another free slot."""
    async with caller_for(services, body, "write.appointment.reschedule") as (caller, desk):
        moved = await desk.reschedule(
            patient_id=caller.patient_id,
            appointment_id=body.appointment_id,
            slot_id=body.slot_id,
            criteria=body.criteria.to_criteria(),
            channel=caller.channel,
        )
        await caller.audit("write.appointment.reschedule", "success", moved.outcome)
        return moved


@router.post("/request")
async def request_route(body: RequestIn, services: ServicesDep) -> RequestedPublic:
    """Ask the clinic's staff to find a time when nothing suitable was free."""
    async with caller_for(services, body, "write.appointment.request") as (caller, desk):
        requested = await desk.request(
            patient_id=caller.patient_id,
            criteria=body.criteria.to_criteria(),
            reason=body.reason,
        )
        await caller.audit("write.appointment.request", "success")
        return requested
