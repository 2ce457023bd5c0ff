"""Refill requests through backend.records against real FHIR servers: the Task carries the
needs-review mark and the pharmacy, and a second request the same day finds the first."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

from backend.ehr import FhirHttpEhr, Medication, codes
from backend.records import refills
from backend.records.medications import review_reason

from .servers import RunningServer


async def _medication(ehr: FhirHttpEhr, *, needs_review: bool) -> Medication:
    today = datetime.now(timezone.utc).date()
    for n in range(1, 52):
        for med in await ehr.medication_requests(patient_id=f"pat-{n:03d}", active_only=True):
            if (review_reason(med, today) is not None) == needs_review:
                return med
    raise AssertionError("the seed has no such active prescription")


async def _untouched(ehr: FhirHttpEhr, *, needs_review: bool) -> Medication:
    """A prescription no other test has asked a refill of yet."""
    today = datetime.now(timezone.utc).date()
    for n in range(51, 0, -1):
        pid = f"pat-{n:03d}"
        asked = {t.medication_request_id for t in await ehr.refill_tasks(patient_id=pid)}
        for med in await ehr.medication_requests(patient_id=pid, active_only=True):
            if med.id not in asked and (review_reason(med, today) is not None) == needs_review:
                return med
    return await _medication(ehr, needs_review=needs_review)


async def test_a_refill_needing_review_is_marked_on_the_task(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    med = await _untouched(ehr, needs_review=True)
    now = datetime.now(timezone.utc)
    outcome = await refills.request_refill(
        ehr=ehr,
        patient_id=med.patient_id or "",
        medication_request_id=med.id,
        pharmacy="Corner Pharmacy, Elm St",
        now=now,
    )
    raw = httpx.get(f"{fhir_server.base_url}/Task/{outcome.task.id}", timeout=10).json()
    assert raw["focus"]["reference"] == f"MedicationRequest/{med.id}"
    assert raw["requester"]["reference"] == f"Patient/{med.patient_id}"
    assert raw["owner"]["reference"] == f"Practitioner/{med.prescriber_id}"
    assert raw["businessStatus"]["coding"][0]["code"] == codes.TASK_NEEDS_REVIEW
    assert raw["input"][0]["valueString"] == "Corner Pharmacy, Elm St"
    assert outcome.task.needs_review and outcome.task.pharmacy == "Corner Pharmacy, Elm St"

    again = await refills.request_refill(
        ehr=ehr,
        patient_id=med.patient_id or "",
        medication_request_id=med.id,
        pharmacy=None,
        now=now,
    )
    assert again.task.id == outcome.task.id and again.created is False


async def test_a_routine_refill_is_not_marked(ehr: FhirHttpEhr, fhir_server: RunningServer) -> None:
    med = await _untouched(ehr, needs_review=False)
    outcome = await refills.request_refill(
        ehr=ehr,
        patient_id=med.patient_id or "",
        medication_request_id=med.id,
        pharmacy=None,
        now=datetime.now(timezone.utc),
    )
    raw = httpx.get(f"{fhir_server.base_url}/Task/{outcome.task.id}", timeout=10).json()
    assert "businessStatus" not in raw and "input" not in raw
    assert outcome.task.needs_review is False
