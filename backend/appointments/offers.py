"""What the patient asked for, and the free slots that fit it or come nearest.

`Criteria` is what the conversation has gathered so far (specialty, clinician, clinic, the
words that said when); `update_criteria` folds a new message into it ("actually Friday" only
changes the day). `find_offers` searches the EHR: first exactly what was asked, then the
nearest alternatives in order: another clinician of the same specialty, another clinic, the
next available days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from backend.appointments.calendar import ClinicCalendar
from backend.appointments.directory import find_clinic, find_clinicians, find_specialty, plain
from backend.appointments.when import Ask, Unusable, Window, understand_when
from backend.ehr.domain import Clinic, Clinician, FreeSlot
from backend.ehr.port import Ehr

MAX_OFFERS = 5
MIN_LEAD = timedelta(hours=1)  # never offer a slot that starts within the hour
DEFAULT_HORIZON = timedelta(days=14)  # "as soon as possible" looks this far ahead
LATER_HORIZON = timedelta(days=28)  # how far past the asked window alternatives may be
SOONEST = re.compile(
    r"\b(?:asap|soonest|earliest|first available|next available|any ?time|whenever|"
    r"as soon as|any day|don'?t mind|no preference)\b"
)

Alternative = Literal["match", "other_clinician", "other_clinic", "later_days", "none"]


@dataclass(frozen=True)
class Criteria:
    """What the patient wants; ids are EHR logical ids, `when_text` the patient's words."""

    specialty: str | None = None
    practitioner_id: str | None = None
    location_id: str | None = None
    when_text: str | None = None

    @property
    def has_what(self) -> bool:
        return bool(self.specialty or self.practitioner_id)


@dataclass(frozen=True)
class Offer:
    """Free slots to offer (earliest first) and how far they are from what was asked."""

    slots: tuple[FreeSlot, ...]
    alternative: Alternative
    window: Window | None


def update_criteria(
    criteria: Criteria,
    text: str,
    *,
    clinicians: list[Clinician],
    clinics: list[Clinic],
    now: datetime,
    calendar: ClinicCalendar,
) -> Criteria:
    """Fold the new message into the criteria; what it does not mention is kept."""
    updated = criteria
    named = find_clinicians(text, clinicians)
    if len(named) == 1:
        doctor = named[0]
        updated = replace(
            updated,
            practitioner_id=doctor.id,
            specialty=doctor.specialties[0] if doctor.specialties else updated.specialty,
        )
    specialty = find_specialty(text)
    if specialty and specialty != updated.specialty:
        updated = replace(updated, specialty=specialty, practitioner_id=None)
    clinic = find_clinic(text, clinics)
    if clinic is not None:
        updated = replace(updated, location_id=clinic.id)
    if SOONEST.search(plain(text)) or understand_when(text, now=now, calendar=calendar):
        updated = replace(updated, when_text=text)
    return updated


def window_for(
    criteria: Criteria, *, now: datetime, calendar: ClinicCalendar
) -> Window | Ask | Unusable | None:
    """The window the criteria's words name; None means "as soon as possible"."""
    if not criteria.when_text or SOONEST.search(plain(criteria.when_text)):
        return None
    return understand_when(criteria.when_text, now=now, calendar=calendar)


async def find_offers(
    ehr: Ehr,
    criteria: Criteria,
    *,
    window: Window | None,
    now: datetime,
    calendar: ClinicCalendar,
    exclude: frozenset[str] = frozenset(),
) -> Offer:
    """Slots that fit, else the nearest alternatives, else an empty offer ("none")."""
    earliest = now + MIN_LEAD
    if window is None:
        start, end = earliest, earliest + DEFAULT_HORIZON
    else:
        start, end = window.bounds(calendar)
        start = max(start, earliest)
    attempts: list[tuple[Alternative, Criteria, datetime, datetime]] = [
        ("match", criteria, start, end)
    ]
    if criteria.practitioner_id:
        attempts.append(("other_clinician", replace(criteria, practitioner_id=None), start, end))
    if criteria.location_id:
        attempts.append(
            ("other_clinic", replace(criteria, practitioner_id=None, location_id=None), start, end)
        )
    later_start = max(end, earliest)
    attempts.append(("later_days", criteria, later_start, later_start + LATER_HORIZON))
    if criteria.practitioner_id or criteria.location_id:
        relaxed = replace(criteria, practitioner_id=None, location_id=None)
        attempts.append(("later_days", relaxed, later_start, later_start + LATER_HORIZON))
    for alternative, wanted, lo, hi in attempts:
        if lo >= hi:
            continue
        found = await ehr.search_free_slots(
            start=lo,
            end=hi,
            specialty=wanted.specialty,
            practitioner_id=wanted.practitioner_id,
            location_id=wanted.location_id,
            limit=100,
        )
        fitting = [
            s
            for s in found
            if s.id not in exclude
            and s.start >= earliest
            and (
                alternative == "later_days" or window is None or window.contains(s.start, calendar)
            )
        ]
        if fitting:
            return Offer(tuple(_spread(fitting)), alternative, window)
    return Offer((), "none", window)


def _spread(slots: list[FreeSlot]) -> list[FreeSlot]:
    """Up to MAX_OFFERS slots, earliest first, at most two per day so the choice is real."""
    chosen: list[FreeSlot] = []
    per_day: dict[object, int] = {}
    for slot in slots:
        day = slot.start.date()
        if per_day.get(day, 0) >= 2:
            continue
        per_day[day] = per_day.get(day, 0) + 1
        chosen.append(slot)
        if len(chosen) == MAX_OFFERS:
            return chosen
    for slot in slots:  # fewer than five days: fill up with the remaining earliest ones
        if len(chosen) == MAX_OFFERS:
            break
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen, key=lambda s: s.start)
