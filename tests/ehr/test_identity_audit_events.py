"""`record_audit_event`: identity attempts and log-outs as FHIR AuditEvents (User
Authentication), accepted by real servers and by the fake."""

from __future__ import annotations

import httpx

from backend.ehr import FhirHttpEhr
from backend.ehr.fake import InMemoryEhr

from .servers import RunningServer


def _events(server: RunningServer, query: str) -> dict:
    response = httpx.get(f"{server.base_url}/AuditEvent?{query}&_count=500", timeout=10)
    response.raise_for_status()
    return response.json()


async def test_a_verification_becomes_a_user_authentication_event(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    before = _events(fhir_server, "entity=Patient/pat-003").get("total") or 0

    await ehr.record_audit_event(action="identity.verify", succeeded=True, patient_id="pat-003")

    after = _events(fhir_server, "entity=Patient/pat-003")
    assert after.get("total") == before + 1
    newest = max((e["resource"] for e in after["entry"]), key=lambda r: r["meta"]["lastUpdated"])
    assert newest["type"]["code"] == "110114"
    assert newest["subtype"][0]["code"] == "110122"
    assert newest["outcome"] == "0"


async def test_a_failed_attempt_names_nobody(ehr: FhirHttpEhr) -> None:
    await ehr.record_audit_event(action="identity.start", succeeded=False, patient_id=None)


async def test_the_fake_keeps_the_same_event() -> None:
    ehr = InMemoryEhr()
    await ehr.record_audit_event(action="identity.end", succeeded=True, patient_id="pat-001")
    [event] = ehr.audit_log
    assert event["subtype"][0]["code"] == "110123"  # logout
    assert event["entity"][0]["what"]["reference"] == "Patient/pat-001"
