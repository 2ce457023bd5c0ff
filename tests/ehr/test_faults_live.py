"""Faults between the client and a real FHIR server: 500, answers too late, garbage.

A fault proxy sits between the port and each real server; what the server holds afterwards is read
directly from it. A booking is applied whole or not at all, and writes are never retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.ehr import (
    EhrBadResponse,
    EhrTimeout,
    EhrUnavailable,
    FhirHttpEhr,
    FreeSlot,
    SlotTaken,
)

from .faultproxy import fault_proxy
from .servers import RunningServer

NY = ZoneInfo("America/New_York")
ORTHOPAEDICS = "394801008"


def _raw(server: RunningServer, path: str) -> dict:
    r = httpx.get(f"{server.base_url}/{path}", timeout=10)
    r.raise_for_status()
    return r.json()


def _appointments_for(server: RunningServer, slot_id: str) -> list[str]:
    bundle = _raw(server, f"Appointment?slot=Slot/{slot_id}&_count=100")
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


async def _free_slot(server: RunningServer, offset_days: int) -> FreeSlot:
    start = datetime.now(NY) + timedelta(days=offset_days)
    async with FhirHttpEhr(server.base_url) as ehr:
        slots = await ehr.search_free_slots(
            start=start, end=start + timedelta(days=7), specialty=ORTHOPAEDICS, limit=1
        )
    assert slots, "no free orthopaedics slot"
    return slots[0]


async def test_a_booking_answered_with_500_is_not_retried_and_changes_nothing(
    fhir_server: RunningServer,
) -> None:
    slot = await _free_slot(fhir_server, 10)
    with fault_proxy(fhir_server.base_url) as proxy:
        proxy.rule = lambda method, path: "500" if method == "POST" else None
        async with FhirHttpEhr(proxy.base_url, timeout_s=5) as ehr:
            with pytest.raises(EhrUnavailable, match="HTTP 500"):
                await ehr.book(slot_id=slot.id, patient_id="pat-031")
        assert proxy.count("POST") == 1
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "free"
    assert _appointments_for(fhir_server, slot.id) == []


async def test_a_booking_answered_too_late_is_applied_whole_and_cannot_be_repeated(
    fhir_server: RunningServer,
) -> None:
    slot = await _free_slot(fhir_server, 24)
    with fault_proxy(fhir_server.base_url, slow_s=1.5) as proxy:
        proxy.rule = lambda method, path: "slow" if method == "POST" else None
        async with FhirHttpEhr(proxy.base_url, timeout_s=0.5) as ehr:
            with pytest.raises(EhrTimeout, match="may or may not have been applied"):
                await ehr.book(slot_id=slot.id, patient_id="pat-032")
        assert proxy.count("POST") == 1
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "busy"
    assert len(_appointments_for(fhir_server, slot.id)) == 1
    async with FhirHttpEhr(fhir_server.base_url) as ehr:
        with pytest.raises(SlotTaken):
            await ehr.book(slot_id=slot.id, patient_id="pat-032")


async def test_garbage_in_answer_to_a_booking_is_a_bad_response_and_the_booking_is_whole(
    fhir_server: RunningServer,
) -> None:
    slot = await _free_slot(fhir_server, 35)
    with fault_proxy(fhir_server.base_url) as proxy:
        proxy.rule = lambda method, path: "garbage" if method == "POST" else None
        async with FhirHttpEhr(proxy.base_url, timeout_s=5) as ehr:
            with pytest.raises(EhrBadResponse, match="not JSON"):
                await ehr.book(slot_id=slot.id, patient_id="pat-033")
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "busy"
    assert len(_appointments_for(fhir_server, slot.id)) == 1


async def test_a_slow_read_times_out_after_a_bounded_number_of_attempts(
    fhir_server: RunningServer,
) -> None:
    with fault_proxy(fhir_server.base_url, slow_s=1.0) as proxy:
        proxy.rule = lambda method, path: "slow" if path.startswith("/Patient/") else None
        async with FhirHttpEhr(proxy.base_url, timeout_s=0.3, read_retries=1) as ehr:
            with pytest.raises(EhrTimeout) as err:
                await ehr.get_patient("pat-001")
        assert err.value.resource == "Patient"
        assert proxy.count("GET") == 2


async def test_a_read_that_fails_once_with_500_is_retried_and_succeeds(
    fhir_server: RunningServer,
) -> None:
    failed: list[str] = []

    def once(method: str, path: str) -> str | None:
        if path == "/Patient/pat-002" and not failed:
            failed.append(path)
            return "500"
        return None

    with fault_proxy(fhir_server.base_url) as proxy:
        proxy.rule = once
        async with FhirHttpEhr(proxy.base_url, timeout_s=5) as ehr:
            patient = await ehr.get_patient("pat-002")
        assert patient.id == "pat-002" and failed
        assert [m for m, p, _ in proxy.seen if p == "/Patient/pat-002"] == ["GET", "GET"]


async def test_garbage_in_answer_to_a_search_is_a_bad_response_not_an_empty_result(
    fhir_server: RunningServer,
) -> None:
    with fault_proxy(fhir_server.base_url) as proxy:
        proxy.rule = lambda method, path: "garbage" if path == "/Slot" else None
        async with FhirHttpEhr(proxy.base_url, timeout_s=5) as ehr:
            start = datetime.now(NY)
            with pytest.raises(EhrBadResponse):
                await ehr.search_free_slots(start=start, end=start + timedelta(days=3))
