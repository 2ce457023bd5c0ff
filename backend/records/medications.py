"""Active medications as the patient hears them, and which refills need the prescriber.

A refill is never refused by the assistant: when there are no refills left, the prescription
has expired, it is not active any more or it is a controlled substance, the request still goes
to the prescriber, marked as needing review, and the patient is told so honestly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.ehr.domain import Medication
from backend.ehr.port import Ehr


@dataclass(frozen=True)
class MedicationView:
    """One prescription, in words the patient can check against their bottle."""

    id: str
    name: str
    dosage: str | None
    refills_remaining: int | None
    prescriber: str | None
    review_reason: str | None

    def line(self) -> str:
        """`- Lisinopril 10 MG Oral Tablet: take 1 tablet daily. Refills remaining: 2.`"""
        parts = [f"- {self.name}"]
        if self.dosage:
            parts.append(f": {self.dosage.rstrip('.')}.")
        else:
            parts.append(": no dose instructions on record, please check the label.")
        if self.refills_remaining is not None:
            parts.append(f" Refills remaining: {self.refills_remaining}.")
        if self.review_reason:
            parts.append(f" A refill needs the prescriber's decision ({self.review_reason}).")
        return "".join(parts)


def review_reason(medication: Medication, today: date) -> str | None:
    """Why a refill of this prescription needs the prescriber's decision; None if routine."""
    if medication.controlled_schedule:
        return "it is a controlled medicine"
    if medication.status != "active":
        return "the prescription is no longer active"
    if medication.is_expired(today):
        return "the prescription has expired"
    if medication.refills_remaining is not None and medication.refills_remaining <= 0:
        return "there are no refills left on it"
    return None


def view(medication: Medication, today: date) -> MedicationView:
    return MedicationView(
        id=medication.id,
        name=medication.name,
        dosage=medication.dosage,
        refills_remaining=medication.refills_remaining,
        prescriber=medication.prescriber_name,
        review_reason=review_reason(medication, today),
    )


async def active_medications(*, ehr: Ehr, patient_id: str, today: date) -> list[MedicationView]:
    """The patient's active prescriptions, newest first."""
    medications = await ehr.medication_requests(patient_id=patient_id, active_only=True)
    return [view(m, today) for m in medications if m.status == "active"]


def medications_text(medications: list[MedicationView]) -> str:
    if not medications:
        return "You have no active prescriptions on record with the clinic."
    heading = (
        "Your active prescription:"
        if len(medications) == 1
        else f"Your {len(medications)} active prescriptions:"
    )
    return "\n".join(
        [
            heading,
            *(m.line() for m in medications),
            "If anything here looks wrong, please tell the care team. To ask for a refill, "
            'just say "refill".',
        ]
    )
