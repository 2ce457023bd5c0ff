"""Families on one phone: who a verified parent may act for, and initials to choose by.

A child is in a patient's care when the child's record (Patient.contact, as the seed and
Synthea-style records carry it) names a parent or guardian whose name and phone are the
verified patient's own, and the child is under 18. The EHR stores no Patient-to-Patient link
for guardians, so both must match: a shared phone alone is not enough.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from backend.ehr import Ehr
from backend.ehr.domain import PatientSummary

from .phones import to_e164

GUARDIAN_ROLES = frozenset({"guardian", "mother", "father", "parent", "legal guardian"})
ADULT_AGE = 18


async def dependants_of(
    ehr: Ehr, patient: PatientSummary, *, today: date, region: str = "US"
) -> list[PatientSummary]:
    """Children under 18 whose record names `patient` as parent or guardian."""
    own_phones = {p for p in (to_e164(raw, region=region) for raw in patient.phones) if p}
    children: dict[str, PatientSummary] = {}
    for phone in sorted(own_phones):
        for candidate in await ehr.find_patients_by_phone(phone):
            if (
                candidate.id != patient.id
                and _minor(candidate, today)
                and _names_as_guardian(candidate, patient, own_phones, region)
            ):
                children[candidate.id] = candidate
    return sorted(children.values(), key=lambda c: c.id)


def initials(patient: PatientSummary) -> str:
    """ "V. G." for Valentina García-Pérez: enough to pick oneself out, never a full name."""
    parts = [patient.given.strip()[:1], patient.family.strip()[:1]]
    return " ".join(f"{p.upper()}." for p in parts if p)


def _minor(patient: PatientSummary, today: date) -> bool:
    born = patient.birth_date
    if born is None:
        return False
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < ADULT_AGE


def _names_as_guardian(
    child: PatientSummary, guardian: PatientSummary, guardian_phones: set[str], region: str
) -> bool:
    for contact in child.contacts:
        role = contact.relationship.strip().casefold()
        phone = to_e164(contact.phone, region=region) if contact.phone else None
        if (
            role in GUARDIAN_ROLES
            and phone in guardian_phones
            and _fold(contact.name) == _fold(guardian.display_name)
        ):
            return True
    return False


def _fold(name: str) -> str:
    """Names compared without case, accents or extra spaces ("Zoë  Müller" == "zoe muller")."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())
