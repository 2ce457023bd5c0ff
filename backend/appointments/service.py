"""The appointment conversation's backend steps, composed into what the action server needs.

`AppointmentDesk` holds the EHR, the calendar and the clinic's policy; each method takes the
patient id `require_subject` returned and answers in the shapes of `schemas`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from backend.appointments import booking
from backend.appointments.calendar import ClinicCalendar
from backend.appointments.offers import (
    Criteria,
    Offer,
    find_offers,
    update_criteria,
    window_for,
)
from backend.appointments.schemas import (
    AppointmentPublic,
    BookedPublic,
    CancelledPublic,
    CriteriaBody,
    ListPublic,
    RequestedPublic,
    SearchPublic,
    appointment_public,
    slot_public,
)
from backend.appointments.when import Ask, Unusable
from backend.ehr.codes import SPECIALTIES
from backend.ehr.domain import Appointment, Clinic
from backend.ehr.errors import SlotTaken
from backend.ehr.port import Ehr

# Carrier opt-out keywords (backend/hub/keywords.py) include CANCEL on SMS and WhatsApp: a
# patient told to "reply CANCEL" there would be unsubscribed instead, so the wording differs.
KEYWORD_CHANNELS = frozenset({"sms", "whatsapp"})

ASK_WHAT = (
    "What kind of appointment do you need? For example a check-up with a family doctor, "
    "or a specialist such as a skin, heart or children's doctor."
)
ASK_WHEN = (
    'When would suit you? For example "tomorrow afternoon", "next Tuesday" or '
    '"as soon as possible".'
)
NOTES = {
    "match": "",
    "other_clinician": "Nothing is free with that clinician then, but another {what} is:",
    "other_clinic": "Nothing is free at that clinic then, but there is at another clinic:",
    "later_days": "Nothing is free {label}. The nearest free times are:",
    "none": (
        "I couldn't find anything free {label}, nor in the weeks after. I can ask the clinic "
        "to find you a time, or put you in touch with a person."
    ),
}


def how_to_cancel(channel: str, clinic_phone: str) -> str:
    """How this patient can cancel, worded so it never names a carrier keyword on SMS."""
    if channel in KEYWORD_CHANNELS:
        return (
            "If you can't make it, message me here, for example \"I can't make my "
            f'appointment", or call {clinic_phone}.'
        )
    return f'To cancel or change it, tell me "cancel my appointment" here or call {clinic_phone}.'


@dataclass(frozen=True)
class AppointmentDesk:
    """Appointment steps for one request: EHR, calendar, policy, and the clock."""

    ehr: Ehr
    calendar: ClinicCalendar
    now: datetime
    cancel_notice: timedelta
    what_to_bring: str
    clinic_phone: str

    async def _clinics(self) -> dict[str, Clinic]:
        return {c.id: c for c in await self.ehr.list_clinics()}

    async def search(
        self, *, criteria: Criteria, text: str, exclude: frozenset[str] = frozenset()
    ) -> SearchPublic:
        """Fold `text` into the criteria, then ask what is still missing or offer slots."""
        clinics = await self._clinics()
        clinicians = await self.ehr.list_clinicians()
        if criteria.practitioner_id and not criteria.specialty:
            # A reschedule starts from the clinician: alternatives keep their specialty.
            doctor = next((c for c in clinicians if c.id == criteria.practitioner_id), None)
            if doctor is not None and doctor.specialties:
                criteria = replace(criteria, specialty=doctor.specialties[0])
        if text.strip():
            criteria = update_criteria(
                criteria,
                text,
                clinicians=clinicians,
                clinics=list(clinics.values()),
                now=self.now,
                calendar=self.calendar,
            )
        if not criteria.has_what:
            return _question(criteria, "what", ASK_WHAT)
        if not criteria.when_text:
            return _question(criteria, "when", ASK_WHEN)
        window = window_for(criteria, now=self.now, calendar=self.calendar)
        if isinstance(window, Ask):
            return _question(replace(criteria, when_text=None), "when", window.question)
        if isinstance(window, Unusable):
            return _question(replace(criteria, when_text=None), "when", window.message)
        offer = await find_offers(
            self.ehr, criteria, window=window, now=self.now, calendar=self.calendar, exclude=exclude
        )
        return self._offer_public(criteria, offer, clinics)

    def _offer_public(
        self, criteria: Criteria, offer: Offer, clinics: dict[str, Clinic]
    ) -> SearchPublic:
        label = offer.window.label if offer.window else "soon"
        what = SPECIALTIES.get(criteria.specialty or "", "clinician").lower()
        note = NOTES[offer.alternative].format(label=label, what=f"{what} clinician")
        return SearchPublic(
            criteria=CriteriaBody.of(criteria),
            need=None,
            question=None,
            alternative=offer.alternative,
            note=note,
            slots=[
                slot_public(s, clinics.get(s.location_id or ""), self._when(s.start))
                for s in offer.slots
            ],
        )

    async def book(
        self, *, patient_id: str, slot_id: str, reason: str | None, criteria: Criteria, channel: str
    ) -> BookedPublic:
        """Book the slot; if someone else got it first, the next offers instead."""
        try:
            appointment = await self.ehr.book(slot_id=slot_id, patient_id=patient_id, reason=reason)
        except SlotTaken:
            return await self._taken(slot_id, criteria, channel)
        return BookedPublic(
            outcome="booked",
            appointment=await self._appointment(appointment),
            what_to_bring=self.what_to_bring,
            how_to_cancel=how_to_cancel(channel, self.clinic_phone),
            offers=None,
        )

    async def reschedule(
        self,
        *,
        patient_id: str,
        appointment_id: str,
        slot_id: str,
        criteria: Criteria,
        channel: str,
    ) -> BookedPublic:
        """Move the patient's appointment; if the new slot was taken, the next offers."""
        try:
            moved = await booking.reschedule_owned(
                self.ehr,
                patient_id=patient_id,
                appointment_id=appointment_id,
                new_slot_id=slot_id,
                now=self.now,
            )
        except SlotTaken:
            return await self._taken(slot_id, criteria, channel)
        return BookedPublic(
            outcome="booked",
            appointment=await self._appointment(moved),
            what_to_bring=self.what_to_bring,
            how_to_cancel=how_to_cancel(channel, self.clinic_phone),
            offers=None,
        )

    async def _taken(self, slot_id: str, criteria: Criteria, channel: str) -> BookedPublic:
        offers = await self.search(criteria=criteria, text="", exclude=frozenset({slot_id}))
        return BookedPublic(
            outcome="slot_taken",
            appointment=None,
            what_to_bring="",
            how_to_cancel=how_to_cancel(channel, self.clinic_phone),
            offers=offers,
        )

    async def upcoming(self, *, patient_id: str, channel: str) -> ListPublic:
        """The patient's upcoming appointments, and how to cancel one."""
        found = await booking.upcoming(self.ehr, patient_id=patient_id, now=self.now)
        clinics = await self._clinics()
        return ListPublic(
            appointments=[self._public(a, clinics) for a in found],
            how_to_cancel=how_to_cancel(channel, self.clinic_phone),
        )

    async def cancel(self, *, patient_id: str, appointment_id: str) -> CancelledPublic:
        """Cancel the patient's appointment; flag it when later than the notice policy."""
        done = await booking.cancel_owned(
            self.ehr,
            patient_id=patient_id,
            appointment_id=appointment_id,
            now=self.now,
            notice=self.cancel_notice,
        )
        return CancelledPublic(
            appointment=await self._appointment(done.appointment),
            late=done.late,
            notice_hours=self.cancel_notice.total_seconds() / 3600,
            clinic_phone=self.clinic_phone,
        )

    async def request(
        self, *, patient_id: str, criteria: Criteria, reason: str | None
    ) -> RequestedPublic:
        """Ask the clinic's staff to find a time for what could not be booked here."""
        window = window_for(criteria, now=self.now, calendar=self.calendar)
        created = await booking.request_from_clinic(
            self.ehr,
            patient_id=patient_id,
            specialty=criteria.specialty,
            window=window if not isinstance(window, Ask | Unusable) else None,
            calendar=self.calendar,
            reason=reason,
            now=self.now,
        )
        return RequestedPublic(
            request_id=created.id,
            message=(
                "I've asked the clinic to find you a time. They will contact you, usually "
                f"within one working day. You can also call them on {self.clinic_phone}."
            ),
        )

    async def _appointment(self, appointment: Appointment) -> AppointmentPublic:
        return self._public(appointment, await self._clinics())

    def _public(self, appointment: Appointment, clinics: dict[str, Clinic]) -> AppointmentPublic:
        when = self._when(appointment.start) if appointment.start else "At a time to be confirmed"
        return appointment_public(appointment, clinics.get(appointment.location_id or ""), when)

    def _when(self, at: datetime) -> str:
        local = at.astimezone(self.calendar.tz)
        hour = local.hour % 12 or 12
        minutes = f":{local.minute:02d}" if local.minute else ""
        return f"{local:%a %b} {local.day}, {hour}{minutes} {'am' if local.hour < 12 else 'pm'}"


def _question(criteria: Criteria, need: Literal["what", "when"], question: str) -> SearchPublic:
    return SearchPublic(
        criteria=CriteriaBody.of(criteria),
        need=need,
        question=question,
        alternative="none",
        note="",
        slots=[],
    )
