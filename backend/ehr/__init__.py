"""The backend's FHIR client layer: one port (`Ehr`), a real HTTP implementation and a fake.

from backend.ehr import connect_ehr
ehr = connect_ehr(base_url="http://127.0.0.1:8090/fhir", auth="none", timeout_s=5.0)
slots = await ehr.search_free_slots(start=..., end=..., specialty="419772000")
"""

from .auth import EhrAuth, SmartBackendAuth, StaticTokenAuth
from .domain import (
    Appointment,
    Clinic,
    Clinician,
    Contact,
    Created,
    FreeSlot,
    LabReport,
    LabResult,
    Medication,
    PatientSummary,
    RefillTask,
)
from .errors import (
    EhrAuthError,
    EhrBadResponse,
    EhrError,
    EhrRejected,
    EhrTimeout,
    EhrUnavailable,
    InvalidState,
    NotFound,
    SlotTaken,
    VersionConflict,
)
from .factory import connect_ehr
from .fhir_http import FhirHttpEhr
from .port import Ehr

__all__ = [
    "Appointment",
    "Clinic",
    "Clinician",
    "Contact",
    "Created",
    "Ehr",
    "EhrAuth",
    "EhrAuthError",
    "EhrBadResponse",
    "EhrError",
    "EhrRejected",
    "EhrTimeout",
    "EhrUnavailable",
    "FhirHttpEhr",
    "FreeSlot",
    "InvalidState",
    "LabReport",
    "LabResult",
    "Medication",
    "NotFound",
    "PatientSummary",
    "RefillTask",
    "SlotTaken",
    "SmartBackendAuth",
    "StaticTokenAuth",
    "VersionConflict",
    "connect_ehr",
]
