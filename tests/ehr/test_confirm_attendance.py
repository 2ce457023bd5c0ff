"""A patient confirming a booked appointment (reply C to a reminder): an accepted
AppointmentResponse, on the in-memory fake and on the real FHIR servers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.ehr import FhirHttpEhr
from backend.ehr.errors import InvalidState, NotFound
from backend.ehr.fake import InMemoryEhr
from backend.ehr.port import Ehr

from .servers import RunningServer

NY = ZoneInfo("America/New_York")


async def _booked(ehr: Ehr, patient_id: str, offset_days: int) -> str:
    start = datetime.now(NY) + timedelta(days=offset_days)
    slots = await ehr.search_free_slots(start=start, end=start + timedelta(days=14), limit=1)
    assert slots, "no free slot to book"
    appt = await ehr.book(slot_id=slots[0].id, patient_id=patient_id)
    return appt.id


async def _confirm_rules(ehr: Ehr, offset_days: int) -> str:
    """Confirms one appointment and checks the refusals; the AppointmentResponse id."""
    appointment_id = await _booked(ehr, "pat-005", offset_days)
    created = await ehr.confirm_attendance(appointment_id=appointment_id, patient_id="pat-005")
    with pytest.raises(NotFound):
        await ehr.confirm_attendance(appointment_id=appointment_id, patient_id="pat-006")
    await ehr.cancel(appointment_id=appointment_id)
    with pytest.raises(InvalidState):
        await ehr.confirm_attendance(appointment_id=appointment_id, patient_id="pat-005")
    assert created.resource_type == "AppointmentResponse" and created.id
    return created.id


async def test_the_fake_records_the_patients_confirmation() -> None:
    ehr = InMemoryEhr.from_seed(seed=42)
    response_id = await _confirm_rules(ehr, offset_days=9)
    stored = ehr._get("AppointmentResponse", response_id)
    assert stored["participantStatus"] == "accepted"
    assert stored["actor"]["reference"] == "Patient/pat-005"


async def test_a_real_server_stores_the_appointment_response(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    response_id = await _confirm_rules(ehr, offset_days=11)
    r = httpx.get(f"{fhir_server.base_url}/AppointmentResponse/{response_id}", timeout=10)
    r.raise_for_status()
    body = r.json()
    assert body["participantStatus"] == "accepted"
    assert body["actor"]["reference"] == "Patient/pat-005"
