"""Lab results, medications, refill Tasks and escalation writes against real servers."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from backend.ehr import FhirHttpEhr, Medication, NotFound

from .servers import RunningServer


def _raw(server: RunningServer, path: str) -> dict:
    r = httpx.get(f"{server.base_url}/{path}", timeout=10)
    r.raise_for_status()
    return r.json()


async def _active_med(ehr: FhirHttpEhr, start: int) -> Medication:
    for n in range(start, 52):
        meds = await ehr.medication_requests(patient_id=f"pat-{n:03d}", active_only=True)
        if meds:
            return meds[0]
    raise AssertionError("no active MedicationRequest in the seed")


def _all_reports(server: RunningServer) -> list[dict]:
    bundle = _raw(server, "DiagnosticReport?_count=1000")
    return [e["resource"] for e in bundle.get("entry", [])]


async def test_preliminary_reports_are_never_returned(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    prelim = [r for r in _all_reports(fhir_server) if r["status"] == "preliminary"]
    assert prelim, "the seed must contain preliminary reports"
    patient = prelim[0]["subject"]["reference"].split("/")[1]
    reports = await ehr.released_lab_reports(patient_id=patient)
    assert prelim[0]["id"] not in {r.id for r in reports}
    assert all(r.status in ("final", "amended", "corrected", "appended") for r in reports)


async def test_released_reports_carry_values_units_ranges_and_flags(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    finals = [r for r in _all_reports(fhir_server) if r["status"] == "final"]
    patients = sorted({r["subject"]["reference"].split("/")[1] for r in finals})
    reports = [rep for p in patients[:12] for rep in await ehr.released_lab_reports(patient_id=p)]
    results = [x for rep in reports for x in rep.results]
    numeric = [x for x in results if x.value is not None]
    assert numeric and all(x.unit and x.low is not None and x.high is not None for x in numeric)
    assert {x.interpretation for x in results} >= {"N", "H"}
    assert all(len(rep.results) >= 1 for rep in reports)


async def test_a_critical_value_is_flagged(ehr: FhirHttpEhr, fhir_server: RunningServer) -> None:
    crit = _raw(fhir_server, "Observation?_count=1000")
    hh = [
        e["resource"]
        for e in crit.get("entry", [])
        if e["resource"]["interpretation"][0]["coding"][0]["code"] in ("HH", "LL")
        and e["resource"]["status"] == "final"
    ]
    assert hh
    patient = hh[0]["subject"]["reference"].split("/")[1]
    reports = await ehr.released_lab_reports(patient_id=patient)
    assert any(r.has_critical for r in reports)


def _patients_with(raw: list[dict], *predicates: object) -> list[str]:
    """One patient id per predicate: the first whose raw MedicationRequest satisfies it."""
    out = []
    for pred in predicates:
        m = next(m for m in raw if pred(m))  # type: ignore[operator]
        out.append(m["subject"]["reference"].split("/")[1])
    return sorted(set(out))


async def test_medications_show_refills_expiry_and_controlled_schedule(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    raw = [e["resource"] for e in _raw(fhir_server, "MedicationRequest?_count=1000")["entry"]]
    now = datetime.now(timezone.utc)

    def left(m: dict) -> int:
        return int(m["dispenseRequest"]["extension"][0]["valueUnsignedInt"])

    def ended(m: dict) -> bool:
        return datetime.fromisoformat(m["dispenseRequest"]["validityPeriod"]["end"]) < now

    patients = _patients_with(
        raw,
        lambda m: left(m) == 0,
        lambda m: left(m) > 0,
        lambda m: m["status"] == "active" and ended(m),
        lambda m: any(e.get("valueCode") == "CII" for e in m.get("extension", [])),
    )
    meds = [m for p in patients for m in await ehr.medication_requests(patient_id=p)]
    assert any(m.refills_remaining == 0 for m in meds)
    assert any(m.refills_remaining and m.refills_remaining > 0 for m in meds)
    assert any(m.status == "active" and m.is_expired(now.date()) for m in meds)
    assert any(m.controlled_schedule == "CII" for m in meds)
    assert all(m.prescriber_id for m in meds)


async def test_refill_request_follows_the_r4_pattern_and_is_not_duplicated(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    med = await _active_med(ehr, start=12)
    pid = med.patient_id or ""
    task = await ehr.request_refill(medication_request_id=med.id, patient_id=pid, note="2 left")
    raw = _raw(fhir_server, f"Task/{task.id}")
    assert raw["focus"]["reference"] == f"MedicationRequest/{med.id}"
    assert raw["requester"]["reference"] == f"Patient/{pid}"
    assert raw["owner"]["reference"] == f"Practitioner/{med.prescriber_id}"
    assert raw["status"] == "requested" and raw["intent"] == "order"
    again = await ehr.request_refill(medication_request_id=med.id, patient_id=pid)
    assert again.id == task.id
    assert (await ehr.get_refill_task(task.id)).medication_request_id == med.id
    assert task.id in {t.id for t in await ehr.refill_tasks(patient_id=pid)}


async def test_a_refill_for_someone_elses_prescription_is_not_found(ehr: FhirHttpEhr) -> None:
    med = await _active_med(ehr, start=2)
    assert med.patient_id != "pat-001"
    with pytest.raises(NotFound):
        await ehr.request_refill(medication_request_id=med.id, patient_id="pat-001")


async def test_escalation_writes_communication_flag_and_task(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    c = await ehr.create_communication(patient_id="pat-013", text="Patient reports chest pain")
    f = await ehr.create_flag(patient_id="pat-013", text="Emergency reported by chat")
    t = await ehr.create_escalation_task(patient_id="pat-013", description="Call the patient back")
    assert (
        _raw(fhir_server, c.reference)["payload"][0]["contentString"]
        == "Patient reports chest pain"
    )
    assert _raw(fhir_server, f.reference)["status"] == "active"
    assert _raw(fhir_server, t.reference)["priority"] == "urgent"
