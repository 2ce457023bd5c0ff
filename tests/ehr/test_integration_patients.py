"""Patient lookup, the directory and the audit trail against real FHIR servers."""

from __future__ import annotations

from datetime import date

import httpx

from backend.ehr import FhirHttpEhr

from .servers import RunningServer


def _search(server: RunningServer, path: str) -> dict:
    r = httpx.get(f"{server.base_url}/{path}", timeout=10)
    r.raise_for_status()
    return r.json()


async def test_a_shared_family_phone_finds_every_family_member(ehr: FhirHttpEhr) -> None:
    found = await ehr.find_patients_by_phone("+12125550151")
    names = {p.given for p in found}
    assert {"Mateo", "Valentina", "Diego"} <= names
    assert all(p.family == "García-Pérez" for p in found)


async def test_a_phone_in_national_format_is_normalised_to_e164(ehr: FhirHttpEhr) -> None:
    found = await ehr.find_patients_by_phone("(212) 555-0151")
    assert {p.given for p in found} >= {"Mateo"}


async def test_an_unknown_phone_finds_nobody(ehr: FhirHttpEhr) -> None:
    assert await ehr.find_patients_by_phone("+12125550999") == []


async def test_a_child_carries_the_guardian_as_contact(ehr: FhirHttpEhr) -> None:
    kids = [p for p in await ehr.find_patients_by_phone("+12125550151") if p.given == "Diego"]
    assert kids and kids[0].contacts and kids[0].contacts[0].name == "Mateo García-Pérez"


async def test_identifier_and_birth_date_must_both_match(ehr: FhirHttpEhr) -> None:
    p = await ehr.get_patient("pat-002")
    assert p.mrn and p.birth_date
    same = await ehr.find_patient_by_identifier(identifier=p.mrn, birth_date=p.birth_date)
    assert same is not None and same.id == "pat-002"
    wrong = await ehr.find_patient_by_identifier(identifier=p.mrn, birth_date=date(1900, 1, 1))
    assert wrong is None


async def test_name_with_apostrophe_and_birth_date_finds_the_patient(ehr: FhirHttpEhr) -> None:
    p = await ehr.get_patient("pat-001")
    assert p.family == "O'Connor" and p.language == "en"
    found = await ehr.find_patients_by_name(
        family="O'Connor", given="Siobh", birth_date=p.birth_date
    )
    assert [x.id for x in found] == ["pat-001"]


async def test_clinics_have_hours_phone_and_time_zone(ehr: FhirHttpEhr) -> None:
    clinics = await ehr.list_clinics()
    assert len(clinics) >= 3
    assert all(c.phone and c.hours and c.timezone == "America/New_York" for c in clinics)


async def test_clinicians_by_specialty_and_clinic(ehr: FhirHttpEhr) -> None:
    cardio = await ehr.list_clinicians(specialty="394579002")
    assert len(cardio) == 2 and all("394579002" in c.specialties for c in cardio)
    everyone = await ehr.list_clinicians()
    assert len(everyone) >= 15
    assert any(len(c.location_ids) == 2 for c in everyone)


async def test_reading_patient_data_writes_an_audit_event(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    before = _search(fhir_server, "AuditEvent?entity=Patient/pat-003&_count=500").get("total")
    await ehr.medication_requests(patient_id="pat-003")
    after = _search(fhir_server, "AuditEvent?entity=Patient/pat-003&_count=500")
    assert after.get("total") == (before or 0) + 1
    event = after["entry"][0]["resource"]
    assert event["agent"][0]["requestor"] is True
