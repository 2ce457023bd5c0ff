"""Booking, rescheduling, cancelling and listing a patient's appointments over the EHR port.

Every function receives the patient id that `require_subject` returned: an appointment id the
action server sends is only acted on if it belongs to that patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.appointments.calendar import ClinicCalendar
from backend.appointments.when import Window
from backend.ehr.codes import SPECIALTIES
from backend.ehr.domain import Appointment, Created
from backend.ehr.errors import NotFound
from backend.ehr.port import Ehr

# How far ahead a request with no period of its own asks the clinic to look.
REQUEST_HORIZON = timedelta(days=14)

ACTIVE_STATUSES = frozenset({"booked", "pending", "proposed", "waitlist"})


@dataclass(frozen=True)
class Cancelled:
    """A cancellation, and whether it came later than the clinic's notice policy."""

    appointment: Appointment
    late: bool


async def upcoming(ehr: Ehr, *, patient_id: str, now: datetime) -> list[Appointment]:
    """The patient's appointments still to come (booked or requested), earliest first."""
    appointments = await ehr.list_appointments(patient_id=patient_id, since=now)
    return [a for a in appointments if a.status in ACTIVE_STATUSES]


async def owned_appointment(
    ehr: Ehr, *, patient_id: str, appointment_id: str, now: datetime
) -> Appointment:
    """The patient's upcoming appointment with this id; NotFound for anyone else's."""
    for appointment in await upcoming(ehr, patient_id=patient_id, now=now):
        if appointment.id == appointment_id:
            return appointment
    raise NotFound("Appointment", appointment_id, "read")


async def cancel_owned(
    ehr: Ehr,
    *,
    patient_id: str,
    appointment_id: str,
    now: datetime,
    notice: timedelta,
) -> Cancelled:
    """Cancel the patient's appointment; `late` when it starts within the notice period."""
    appointment = await owned_appointment(
        ehr, patient_id=patient_id, appointment_id=appointment_id, now=now
    )
    cancelled = await ehr.cancel(appointment_id=appointment.id, reason="Cancelled by the patient")
    late = appointment.start is not None and appointment.start - now < notice
    return Cancelled(cancelled, late)


async def reschedule_owned(
    ehr: Ehr, *, patient_id: str, appointment_id: str, new_slot_id: str, now: datetime
) -> Appointment:
    """Move the patient's appointment to the new slot (the old one is freed by the EHR)."""
    appointment = await owned_appointment(
        ehr, patient_id=patient_id, appointment_id=appointment_id, now=now
    )
    return await ehr.reschedule(appointment_id=appointment.id, new_slot_id=new_slot_id)


async def request_from_clinic(
    ehr: Ehr,
    *,
    patient_id: str,
    specialty: str | None,
    window: Window | None,
    calendar: ClinicCalendar,
    reason: str | None,
    now: datetime,
) -> Created:
    """Ask the clinic's staff to find a time: a `proposed` Appointment with the requested
    period (the next two weeks when the patient named none), which staff book or decline
    where they work."""
    if window is None:
        start, end = now, now + REQUEST_HORIZON
    else:
        start, end = window.bounds(calendar)
    return await ehr.request_appointment(
        patient_id=patient_id,
        start=start,
        end=end,
        specialty=SPECIALTIES.get(specialty) if specialty else None,
        reason=reason[:200] if reason else None,
    )
