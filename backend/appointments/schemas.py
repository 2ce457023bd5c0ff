"""JSON shapes of `/internal/appointments/*` (what the action server sends and gets back)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from backend.appointments.offers import Criteria
from backend.ehr.domain import Appointment, Clinic, FreeSlot

Id = Field(min_length=1, max_length=64)


class CriteriaBody(BaseModel):
    """What the conversation has gathered so far (ids as the backend returned them)."""

    specialty: str | None = Field(default=None, max_length=64)
    practitioner_id: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    when_text: str | None = Field(default=None, max_length=500)

    def to_criteria(self) -> Criteria:
        return Criteria(self.specialty, self.practitioner_id, self.location_id, self.when_text)

    @classmethod
    def of(cls, criteria: Criteria) -> CriteriaBody:
        return cls(
            specialty=criteria.specialty,
            practitioner_id=criteria.practitioner_id,
            location_id=criteria.location_id,
            when_text=criteria.when_text,
        )


class SubjectBody(BaseModel):
    """Whose appointment: the verified patient, or a child in their care."""

    conversation_id: str = Id
    for_patient: str | None = Field(default=None, min_length=1, max_length=64)
    for_child: bool = False  # "book my son": the backend picks the verified patient's child


class SearchIn(SubjectBody):
    text: str = Field(default="", max_length=1000)
    criteria: CriteriaBody = Field(default_factory=CriteriaBody)
    exclude: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)


class SlotPublic(BaseModel):
    id: str
    start: datetime
    label: str  # "Tue Nov 24, 9:15 am with Dr. Amara Okafor at Harborview"
    practitioner_name: str
    specialty: str
    clinic_name: str
    clinic_address: str


class SearchPublic(BaseModel):
    """Either a question (`need` says about what) or slots (possibly alternatives, see `note`)."""

    criteria: CriteriaBody
    need: Literal["what", "when"] | None
    question: str | None
    alternative: Literal["match", "other_clinician", "other_clinic", "later_days", "none"]
    note: str
    slots: list[SlotPublic]


class BookIn(SubjectBody):
    slot_id: str = Id
    reason: str | None = Field(default=None, max_length=300)
    criteria: CriteriaBody = Field(default_factory=CriteriaBody)


class AppointmentPublic(BaseModel):
    id: str
    status: str
    practitioner_id: str | None  # lets a reschedule look for the same clinician first
    start: datetime | None
    label: str
    practitioner_name: str
    clinic_name: str
    clinic_address: str


class BookedPublic(BaseModel):
    """`booked` with the details to tell, or `slot_taken` with the next offers."""

    outcome: Literal["booked", "slot_taken"]
    appointment: AppointmentPublic | None
    what_to_bring: str
    how_to_cancel: str
    offers: SearchPublic | None


class ListPublic(BaseModel):
    appointments: list[AppointmentPublic]
    how_to_cancel: str


class CancelIn(SubjectBody):
    appointment_id: str = Id


class CancelledPublic(BaseModel):
    appointment: AppointmentPublic
    late: bool
    notice_hours: float
    clinic_phone: str


class RescheduleIn(SubjectBody):
    appointment_id: str = Id
    slot_id: str = Id
    criteria: CriteriaBody = Field(default_factory=CriteriaBody)


class RequestIn(SubjectBody):
    criteria: CriteriaBody = Field(default_factory=CriteriaBody)
    reason: str | None = Field(default=None, max_length=300)


class RequestedPublic(BaseModel):
    request_id: str
    message: str


def slot_public(slot: FreeSlot, clinic: Clinic | None, tz_label: str) -> SlotPublic:
    """A slot as the patient chooses it."""
    who = slot.practitioner_name or "a clinician"
    where = _site(clinic, slot.location_name)
    return SlotPublic(
        id=slot.id,
        start=slot.start,
        label=f"{tz_label} with {who} at {where}",
        practitioner_name=who,
        specialty=slot.specialty_display or "",
        clinic_name=where,
        clinic_address=clinic.address if clinic else "",
    )


def appointment_public(
    appointment: Appointment, clinic: Clinic | None, when_label: str
) -> AppointmentPublic:
    """An appointment as the patient reads it."""
    who = appointment.practitioner_name or "a clinician"
    where = _site(clinic, appointment.location_name)
    return AppointmentPublic(
        id=appointment.id,
        status=appointment.status,
        practitioner_id=appointment.practitioner_id,
        start=appointment.start,
        label=f"{when_label} with {who} at {where}",
        practitioner_name=who,
        clinic_name=where,
        clinic_address=clinic.address if clinic else "",
    )


def _site(clinic: Clinic | None, fallback: str | None) -> str:
    name = clinic.name if clinic else (fallback or "the clinic")
    return name.split("–")[-1].strip() if "–" in name else name
