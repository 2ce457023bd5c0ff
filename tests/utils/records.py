"""FHIR resources for the records tests: two patients, released and preliminary reports,
a critical value, and prescriptions in every refill situation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.ehr import codes

Resource = dict[str, Any]
PATIENT = "pat-rec-1"
CHILD = "pat-rec-child"
STRANGER = "pat-rec-2"
PRESCRIBER = "prac-rec-1"


def _at(days_ago: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return moment.isoformat().replace("+00:00", "Z")


def observation(
    oid: str,
    patient: str,
    *,
    loinc: str,
    name: str,
    value: float,
    unit: str,
    low: float,
    high: float,
    flag: str,
    status: str = "final",
) -> Resource:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": codes.LOINC, "code": loinc}], "text": name},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": value, "unit": unit, "system": codes.UCUM, "code": unit},
        "referenceRange": [
            {"low": {"value": low, "unit": unit}, "high": {"value": high, "unit": unit}}
        ],
        "interpretation": [{"coding": [{"system": codes.V3_INTERPRETATION, "code": flag}]}],
    }


def report(
    rid: str, patient: str, *, name: str, days_ago: int, results: list[str], status: str = "final"
) -> Resource:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "category": [{"coding": [{"system": codes.V2_0074, "code": "LAB"}]}],
        "code": {"text": name},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": _at(days_ago),
        "issued": _at(days_ago),
        "result": [{"reference": f"Observation/{o}"} for o in results],
    }


def medication_request(
    mid: str,
    patient: str,
    *,
    name: str,
    dosage: str,
    remaining: int,
    status: str = "active",
    valid_days: int = 300,
    schedule: str | None = None,
) -> Resource:
    out: Resource = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": f"Patient/{patient}"},
        "authoredOn": _at(60),
        "requester": {"reference": f"Practitioner/{PRESCRIBER}", "display": "Dr Ana Rivera"},
        "dosageInstruction": [{"text": dosage}],
        "dispenseRequest": {
            "extension": [{"url": codes.EXT_REFILLS_REMAINING, "valueUnsignedInt": remaining}],
            "numberOfRepeatsAllowed": 3,
            "validityPeriod": {"start": _at(60), "end": _at(-valid_days)},
        },
    }
    if schedule:
        out["extension"] = [{"url": codes.EXT_CONTROLLED_SCHEDULE, "valueCode": schedule}]
    return out


def clinic_records(*, critical: bool = False) -> list[Resource]:
    """The patient's record (plus a stranger's); `critical` adds a critical potassium."""
    out: list[Resource] = [
        {"resourceType": "Patient", "id": pid, "name": [{"family": "Test", "given": ["Pat"]}]}
        for pid in (PATIENT, CHILD, STRANGER)
    ]
    out += [
        observation(
            "obs-ldl",
            PATIENT,
            loinc="2089-1",
            name="LDL Cholesterol",
            value=135,
            unit="mg/dL",
            low=0,
            high=129,
            flag="H",
        ),
        observation(
            "obs-hdl",
            PATIENT,
            loinc="2085-9",
            name="HDL Cholesterol",
            value=55,
            unit="mg/dL",
            low=40,
            high=90,
            flag="N",
        ),
        report(
            "rep-lipid", PATIENT, name="Lipid panel", days_ago=3, results=["obs-ldl", "obs-hdl"]
        ),
        observation(
            "obs-hb",
            PATIENT,
            loinc="718-7",
            name="Hemoglobin [Mass/volume] in Blood",
            value=10.0,
            unit="g/dL",
            low=12,
            high=17.5,
            flag="L",
        ),
        report("rep-cbc", PATIENT, name="CBC panel", days_ago=20, results=["obs-hb"]),
        observation(
            "obs-glu-pre",
            PATIENT,
            loinc="2345-7",
            name="Glucose",
            value=250,
            unit="mg/dL",
            low=70,
            high=99,
            flag="H",
            status="preliminary",
        ),
        report(
            "rep-pre",
            PATIENT,
            name="Glucose (pending)",
            days_ago=1,
            results=["obs-glu-pre"],
            status="preliminary",
        ),
        observation(
            "obs-other",
            STRANGER,
            loinc="2345-7",
            name="Glucose",
            value=88,
            unit="mg/dL",
            low=70,
            high=99,
            flag="N",
        ),
        report("rep-other", STRANGER, name="Stranger glucose", days_ago=2, results=["obs-other"]),
        observation(
            "obs-child",
            CHILD,
            loinc="718-7",
            name="Hemoglobin",
            value=13,
            unit="g/dL",
            low=11,
            high=14,
            flag="N",
        ),
        report("rep-child", CHILD, name="Child CBC", days_ago=5, results=["obs-child"]),
        medication_request(
            "med-lisinopril",
            PATIENT,
            name="Lisinopril 10 MG Oral Tablet",
            dosage="Take 1 tablet by mouth once daily",
            remaining=2,
        ),
        medication_request(
            "med-metformin",
            PATIENT,
            name="Metformin 500 MG Oral Tablet",
            dosage="Take 1 tablet twice daily with meals",
            remaining=0,
        ),
        medication_request(
            "med-oxycodone",
            PATIENT,
            name="Oxycodone 5 MG Oral Tablet",
            dosage="Take 1 tablet every 6 hours as needed",
            remaining=0,
            schedule="CII",
        ),
        medication_request(
            "med-old",
            PATIENT,
            name="Amoxicillin 250 MG Oral Capsule",
            dosage="Take 1 capsule three times daily",
            remaining=0,
            status="completed",
        ),
        medication_request(
            "med-stranger",
            STRANGER,
            name="Sertraline 50 MG Oral Tablet",
            dosage="Take 1 tablet daily",
            remaining=3,
        ),
    ]
    if critical:
        out += [
            observation(
                "obs-k",
                PATIENT,
                loinc="2823-3",
                name="Potassium",
                value=6.8,
                unit="mmol/L",
                low=3.5,
                high=5.1,
                flag="HH",
            ),
            report("rep-bmp", PATIENT, name="Basic metabolic panel", days_ago=1, results=["obs-k"]),
        ]
    return out
