"""The EHR port: everything the assistant may ask of the clinic's record system.

Implementations: `FhirHttpEhr` (any FHIR R4 server over HTTP) and `InMemoryEhr` (a file-backed fake
for unit tests of other modules). Every method raises only `backend.ehr.errors.EhrError`
subclasses. Reads of patient data leave an AuditEvent in the EHR.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, runtime_checkable

from .domain import (
    Appointment,
    Clinic,
    Clinician,
    Created,
    FreeSlot,
    LabReport,
    Medication,
    PatientSummary,
    RefillTask,
)


@runtime_checkable
class Ehr(Protocol):
    """Operations on the clinic's EHR used by the assistant (all ids are logical ids)."""

    # -- patients ------------------------------------------------------------------------------
    async def find_patients_by_phone(self, phone: str) -> list[PatientSummary]:
        """Patients whose telecom has this E.164 phone (a family can share one; [] if none)."""
        ...

    async def find_patient_by_identifier(
        self, *, identifier: str, birth_date: date
    ) -> PatientSummary | None:
        """The patient with this MRN and birth date, or None (both must match)."""
        ...

    async def find_patients_by_name(
        self, *, family: str, given: str | None, birth_date: date
    ) -> list[PatientSummary]:
        """Patients matching family name (+ given name prefix) and birth date."""
        ...

    async def get_patient(self, patient_id: str) -> PatientSummary:
        """One patient by id; raises NotFound."""
        ...

    # -- directory -----------------------------------------------------------------------------
    async def list_clinics(self) -> list[Clinic]:
        """Active clinic sites."""
        ...

    async def list_clinicians(
        self, *, specialty: str | None = None, location_id: str | None = None
    ) -> list[Clinician]:
        """Practitioners with a role of this specialty (SNOMED code) and/or at this clinic."""
        ...

    # -- scheduling ----------------------------------------------------------------------------
    async def search_free_slots(
        self,
        *,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        practitioner_id: str | None = None,
        location_id: str | None = None,
        limit: int = 20,
    ) -> list[FreeSlot]:
        """Free slots starting in [start, end), earliest first, at most `limit`."""
        ...

    async def book(
        self, *, slot_id: str, patient_id: str, reason: str | None = None
    ) -> Appointment:
        """Book the slot for the patient atomically; raises SlotTaken if someone else got it."""
        ...

    async def cancel(self, *, appointment_id: str, reason: str | None = None) -> Appointment:
        """Cancel the appointment and free its slot(s); idempotent on cancelled appointments."""
        ...

    async def reschedule(self, *, appointment_id: str, new_slot_id: str) -> Appointment:
        """Move the appointment to another free slot in one transaction (old slot freed)."""
        ...

    async def confirm_attendance(self, *, appointment_id: str, patient_id: str) -> Created:
        """The patient confirms a booked appointment (an AppointmentResponse, accepted).

        Raises NotFound when the appointment is not this patient's, InvalidState unless booked.
        """
        ...

    async def list_appointments(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[Appointment]:
        """The patient's appointments starting at or after `since` (all if None), earliest first."""
        ...

    # -- results and medications ---------------------------------------------------------------
    async def released_lab_reports(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[LabReport]:
        """Released (final/amended/corrected) lab reports with their Observations, newest first."""
        ...

    async def medication_requests(
        self, *, patient_id: str, active_only: bool = False
    ) -> list[Medication]:
        """The patient's MedicationRequests (orders), newest first."""
        ...

    async def request_refill(
        self,
        *,
        medication_request_id: str,
        patient_id: str,
        note: str | None = None,
        pharmacy: str | None = None,
        review_reason: str | None = None,
    ) -> RefillTask:
        """Create (or return the already open) refill Task for this MedicationRequest.

        `pharmacy` is where the patient wants it sent; `review_reason` (no refills left,
        expired, controlled substance) marks the Task as needing the prescriber's decision.
        """
        ...

    async def refill_tasks(self, *, patient_id: str) -> list[RefillTask]:
        """The patient's refill Tasks, newest first."""
        ...

    async def get_refill_task(self, task_id: str) -> RefillTask:
        """One refill Task by id; raises NotFound."""
        ...

    # -- escalation ----------------------------------------------------------------------------
    async def create_communication(
        self, *, patient_id: str, text: str, category: str = "notification"
    ) -> Created:
        """Record a message to/about the patient as a Communication (status completed)."""
        ...

    async def create_flag(
        self, *, patient_id: str, text: str, category: str = "clinical"
    ) -> Created:
        """Put an active Flag on the patient's record (e.g. an emergency was reported)."""
        ...

    async def request_appointment(
        self,
        *,
        patient_id: str,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        reason: str | None = None,
    ) -> Created:
        """Record a `proposed` Appointment with the requested period, for staff to book."""
        ...

    async def create_escalation_task(
        self,
        *,
        patient_id: str,
        description: str,
        priority: str = "urgent",
        owner_reference: str | None = None,
    ) -> Created:
        """Create a Task for clinic staff to follow up a hand-off."""
        ...

    # -- audit -----------------------------------------------------------------------------------
    async def record_audit_event(
        self, *, action: str, succeeded: bool, patient_id: str | None = None
    ) -> None:
        """Leave an AuditEvent for an assistant action that is not itself a FHIR call
        (identity verification attempts, log-outs); `patient_id` None when nobody matched."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
