"""Small, immutable domain objects returned by the EHR port.

They carry only what the assistant needs, never raw FHIR; ids are the EHR's logical ids (no type
prefix). Datetimes are timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Contact:
    """A guardian or other contact person of a patient."""

    name: str
    relationship: str = ""
    phone: str | None = None


@dataclass(frozen=True)
class PatientSummary:
    """Who the patient is, as far as the assistant needs to know."""

    id: str
    given: str
    family: str
    birth_date: date | None
    gender: str | None = None
    mrn: str | None = None
    phones: tuple[str, ...] = ()
    language: str | None = None
    contacts: tuple[Contact, ...] = ()

    @property
    def display_name(self) -> str:
        """Given and family name, as one would address a letter."""
        return f"{self.given} {self.family}".strip()


@dataclass(frozen=True)
class FreeSlot:
    """A bookable slot with the clinician and clinic it belongs to."""

    id: str
    start: datetime
    end: datetime
    schedule_id: str
    specialty: str | None = None
    specialty_display: str | None = None
    practitioner_id: str | None = None
    practitioner_name: str | None = None
    location_id: str | None = None
    location_name: str | None = None


@dataclass(frozen=True)
class Appointment:
    """An appointment of a patient."""

    id: str
    status: str
    start: datetime | None
    end: datetime | None
    patient_id: str | None
    slot_ids: tuple[str, ...] = ()
    practitioner_id: str | None = None
    practitioner_name: str | None = None
    location_id: str | None = None
    location_name: str | None = None
    description: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class LabResult:
    """One Observation of a released lab report."""

    id: str
    code: str | None
    name: str
    value: float | None = None
    value_text: str | None = None
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    reference_text: str | None = None
    interpretation: str | None = None  # v3 ObservationInterpretation code: N, H, L, HH, LL, A, AA
    status: str = "final"

    @property
    def is_critical(self) -> bool:
        """True for critical values (HH, LL, AA)."""
        return self.interpretation in {"HH", "LL", "AA"}

    @property
    def is_abnormal(self) -> bool:
        """True for anything flagged outside the normal range, critical included."""
        return self.interpretation not in {None, "N"}


@dataclass(frozen=True)
class LabReport:
    """A released DiagnosticReport with its Observations."""

    id: str
    code: str | None
    name: str
    status: str
    issued: datetime | None
    effective: datetime | None
    conclusion: str | None = None
    results: tuple[LabResult, ...] = ()

    @property
    def has_critical(self) -> bool:
        """True if any result is critical."""
        return any(r.is_critical for r in self.results)

    @property
    def has_abnormal(self) -> bool:
        """True if any result is abnormal."""
        return any(r.is_abnormal for r in self.results)


@dataclass(frozen=True)
class Medication:
    """A MedicationRequest as a refill decision needs it."""

    id: str
    name: str
    code: str | None
    status: str
    patient_id: str | None
    prescriber_id: str | None = None
    prescriber_name: str | None = None
    authored_on: datetime | None = None
    refills_allowed: int | None = None
    refills_remaining: int | None = None
    valid_until: date | None = None
    controlled_schedule: str | None = None  # e.g. "CII"; None when not a controlled substance
    dosage: str | None = None
    # dispenseRequest.expectedSupplyDuration in days: how long one fill lasts (outreach).
    supply_days: int | None = None

    def is_expired(self, today: date) -> bool:
        """True when the prescription's validity period ended before `today`."""
        return self.valid_until is not None and self.valid_until < today


@dataclass(frozen=True)
class RefillTask:
    """A refill request Task (focus MedicationRequest, requester Patient, owner prescriber)."""

    id: str
    status: str
    medication_request_id: str
    patient_id: str | None
    owner_id: str | None = None
    authored_on: datetime | None = None
    note: str | None = None
    requester_id: str | None = None  # the Patient who asked
    needs_review: bool = False  # businessStatus says the prescriber must decide
    pharmacy: str | None = None  # where the patient wants it sent (Task.input)


@dataclass(frozen=True)
class Created:
    """The identity of a resource the port has just written."""

    resource_type: str
    id: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """`Type/id`."""
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True)
class Clinic:
    """A clinic site (FHIR Location, managed by an Organization)."""

    id: str
    name: str
    address: str = ""
    phone: str | None = None
    timezone: str = "America/New_York"
    hours: str = ""
    organization_id: str | None = None


@dataclass(frozen=True)
class Clinician:
    """A practitioner with the specialties and clinics they work at (from PractitionerRole)."""

    id: str
    name: str
    specialties: tuple[str, ...] = ()
    specialty_names: tuple[str, ...] = ()
    location_ids: tuple[str, ...] = ()
