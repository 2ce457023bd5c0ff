"""A request for a time nobody could offer: a `proposed` Appointment with the requested
period, on the in-memory fake and on the real FHIR servers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.ehr import FhirHttpEhr
from backend.ehr.fake import InMemoryEhr

from .servers import RunningServer

NY = ZoneInfo("America/New_York")
START = datetime(2031, 3, 4, 16, 0, tzinfo=NY)


def _check_request(stored: dict) -> None:
    assert stored["resourceType"] == "Appointment"
    assert stored["status"] == "proposed"
    assert "start" not in stored and "end" not in stored  # R4 app-3: booked later by staff
    [period] = stored["requestedPeriod"]
    assert datetime.fromisoformat(period["start"]) == START
    assert datetime.fromisoformat(period["end"]) == START + timedelta(hours=3)
    assert stored["participant"][0]["actor"]["reference"] == "Patient/pat-005"
    assert stored["specialty"] == [{"text": "Dermatology"}]
    assert stored["reasonCode"] == [{"text": "itchy rash"}]


async def test_the_fake_stores_a_proposed_appointment() -> None:
    ehr = InMemoryEhr.from_seed(seed=42)
    created = await ehr.request_appointment(
        patient_id="pat-005",
        start=START,
        end=START + timedelta(hours=3),
        specialty="Dermatology",
        reason="itchy rash",
    )
    assert created.resource_type == "Appointment"
    _check_request(ehr._get("Appointment", created.id))


async def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    ehr = InMemoryEhr.from_seed(seed=42)
    with pytest.raises(ValueError, match="end after"):
        await ehr.request_appointment(patient_id="pat-005", start=START, end=START)


async def test_a_real_server_stores_the_proposed_appointment(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    created = await ehr.request_appointment(
        patient_id="pat-005",
        start=START,
        end=START + timedelta(hours=3),
        specialty="Dermatology",
        reason="itchy rash",
    )
    response = httpx.get(f"{fhir_server.base_url}/{created.reference}", timeout=10)
    response.raise_for_status()
    _check_request(response.json())
