"""Code systems and codes shared by the port, the seed and the tests."""

from __future__ import annotations

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SLOT_STATUS_FREE = "free"

# Our own systems (identifiers and the two extensions R4 has no element for).
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"
SEED_TAG_SYSTEM = "urn:patient-assistant:seed"
EXT_REFILLS_REMAINING = "urn:patient-assistant:fhir:extension:refills-remaining"
EXT_CONTROLLED_SCHEDULE = "urn:patient-assistant:fhir:extension:controlled-substance-schedule"
EXT_TIMEZONE = "http://hl7.org/fhir/StructureDefinition/timezone"
TASK_CODE_REFILL = "refill-request"
TASK_CODE_SYSTEM = "urn:patient-assistant:task-code"
# Refill Tasks the prescriber must decide on (no refills left, expired, controlled substance)
# carry this businessStatus; the patient's chosen pharmacy travels as a Task.input.
TASK_BUSINESS_STATUS_SYSTEM = "urn:patient-assistant:task-business-status"
TASK_NEEDS_REVIEW = "needs-prescriber-review"
TASK_INPUT_SYSTEM = "urn:patient-assistant:task-input"
TASK_INPUT_PHARMACY = "pharmacy"
AUDIT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"

# Specialty codes: SNOMED CT practice settings (R4 PractitionerRole.specialty example value set).
SPECIALTIES: dict[str, str] = {
    "419772000": "Family medicine",
    "394537008": "Paediatrics",
    "394579002": "Cardiology",
    "394582007": "Dermatology",
    "394801008": "Orthopaedics",
    "394586005": "Women's health",
    "394583002": "Endocrinology",
}

# DiagnosticReport statuses a patient may see (never registered, partial or preliminary).
RELEASED_REPORT_STATUSES = ("final", "amended", "corrected", "appended")
RELEASED_OBSERVATION_STATUSES = ("final", "amended", "corrected")
OPEN_TASK_STATUSES = ("requested", "received", "accepted", "in-progress", "ready", "on-hold")
