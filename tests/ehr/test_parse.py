"""Strict parsing details: dates of mixed precision, references."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
from fhirclient.models.fhirdatetime import FHIRDateTime

from backend.ehr import FhirHttpEhr
from backend.ehr.parse import dt, ref_id


def _med(mid: str, authored: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": mid},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": authored,
    }


def test_a_date_only_datetime_becomes_midnight_utc() -> None:
    assert dt(FHIRDateTime("2024-01-05")) == datetime(2024, 1, 5, tzinfo=timezone.utc)
    assert dt(FHIRDateTime("2024-01")) == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_references_of_every_form_give_the_logical_id() -> None:
    assert ref_id({"reference": "Patient/p1"}, "Patient") == "p1"
    assert ref_id({"reference": "http://ehr/fhir/Patient/p1/_history/3"}, "Patient") == "p1"
    assert ref_id({"reference": "Practitioner/p1"}, "Patient") is None
    assert ref_id({"reference": "urn:uuid:1234"}) is None


async def test_medications_with_dates_of_mixed_precision_sort_newest_first() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": _med("old", "2023-02-01")},
            {"resource": _med("new", "2024-03-01T10:00:00-05:00")},
            {"resource": _med("mid", "2023-11")},
        ],
    }

    def server(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=bundle)
        return httpx.Response(201, json={"resourceType": "AuditEvent", "id": "a1"})

    async with FhirHttpEhr("http://ehr.test/fhir", transport=httpx.MockTransport(server)) as ehr:
        meds = await ehr.medication_requests(patient_id="p1")
    assert [m.id for m in meds] == ["new", "mid", "old"]
