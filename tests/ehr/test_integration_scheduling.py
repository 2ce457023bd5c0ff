"""Slot search, booking, cancelling, rescheduling and the 20-way booking race on real servers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.ehr import FhirHttpEhr, FreeSlot, SlotTaken

from .servers import RunningServer

NY = ZoneInfo("America/New_York")
FAMILY, DERMATOLOGY = "419772000", "394582007"


def _raw(server: RunningServer, path: str) -> dict:
    r = httpx.get(f"{server.base_url}/{path}", timeout=10)
    r.raise_for_status()
    return r.json()


async def _free_slot(ehr: FhirHttpEhr, offset_days: int, **filters: str) -> FreeSlot:
    start = datetime.now(NY) + timedelta(days=offset_days)
    slots = await ehr.search_free_slots(
        start=start, end=start + timedelta(days=7), limit=5, **filters
    )
    assert slots, f"no free slot {filters}"
    return slots[0]


async def test_free_slots_match_every_filter_in_order(ehr: FhirHttpEhr) -> None:
    start = datetime.now(NY)
    slots = await ehr.search_free_slots(
        start=start,
        end=start + timedelta(days=14),
        specialty=FAMILY,
        location_id="loc-harborview",
        limit=30,
    )
    assert slots
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert all(s.specialty == FAMILY and s.location_id == "loc-harborview" for s in slots)
    assert all(start <= s.start < start + timedelta(days=14) for s in slots)
    assert all(s.practitioner_name and s.location_name for s in slots)


async def test_slots_are_inside_opening_hours_and_never_on_a_holiday(ehr: FhirHttpEhr) -> None:
    start = datetime.now(NY)
    slots = await ehr.search_free_slots(
        start=start, end=start + timedelta(days=56), practitioner_id="prac-01", limit=200
    )
    local = [s.start.astimezone(NY) for s in slots]
    assert all(9 <= t.hour < 17 and t.hour != 12 for t in local)
    assert all(t.weekday() in (0, 1, 2, 3) for t in local)
    assert all((t.month, t.day) not in {(12, 25), (1, 1), (7, 4)} for t in local)


async def test_the_scarce_specialty_has_no_free_slot_for_four_weeks(ehr: FhirHttpEhr) -> None:
    start = datetime.now(NY)
    assert (
        await ehr.search_free_slots(
            start=start, end=start + timedelta(days=27), specialty=DERMATOLOGY
        )
        == []
    )
    later = await ehr.search_free_slots(
        start=start, end=start + timedelta(days=56), specialty=DERMATOLOGY
    )
    assert later


async def test_booking_makes_the_slot_busy_and_the_appointment_booked(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    slot = await _free_slot(ehr, 3, specialty=FAMILY)
    appt = await ehr.book(slot_id=slot.id, patient_id="pat-005", reason="sore throat")
    assert appt.status == "booked" and appt.slot_ids == (slot.id,) and appt.patient_id == "pat-005"
    assert appt.start == slot.start and appt.practitioner_id == slot.practitioner_id
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "busy"
    with pytest.raises(SlotTaken):
        await ehr.book(slot_id=slot.id, patient_id="pat-006")
    mine = await ehr.list_appointments(patient_id="pat-005", since=datetime.now(NY))
    assert appt.id in [a.id for a in mine]


async def test_cancel_frees_the_slot_and_is_idempotent(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    slot = await _free_slot(ehr, 5, specialty=FAMILY)
    appt = await ehr.book(slot_id=slot.id, patient_id="pat-007")
    cancelled = await ehr.cancel(appointment_id=appt.id, reason="feeling better")
    assert cancelled.status == "cancelled"
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "free"
    again = await ehr.cancel(appointment_id=appt.id)
    assert again.status == "cancelled"


async def test_reschedule_moves_the_appointment_and_frees_the_old_slot(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    first = await _free_slot(ehr, 8, specialty=FAMILY, practitioner_id="prac-03")
    appt = await ehr.book(slot_id=first.id, patient_id="pat-008")
    second = await _free_slot(ehr, 16, specialty="394579002")
    moved = await ehr.reschedule(appointment_id=appt.id, new_slot_id=second.id)
    assert moved.id == appt.id and moved.slot_ids == (second.id,) and moved.start == second.start
    assert moved.practitioner_id == second.practitioner_id and moved.patient_id == "pat-008"
    assert _raw(fhir_server, f"Slot/{first.id}")["status"] == "free"
    assert _raw(fhir_server, f"Slot/{second.id}")["status"] == "busy"


async def test_reschedule_to_a_taken_slot_changes_nothing(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    mine = await _free_slot(ehr, 20, specialty=FAMILY, practitioner_id="prac-04")
    appt = await ehr.book(slot_id=mine.id, patient_id="pat-009")
    theirs = await _free_slot(ehr, 27, specialty=FAMILY, practitioner_id="prac-04")
    await ehr.book(slot_id=theirs.id, patient_id="pat-010")
    with pytest.raises(SlotTaken):
        await ehr.reschedule(appointment_id=appt.id, new_slot_id=theirs.id)
    still = _raw(fhir_server, f"Appointment/{appt.id}")
    assert still["slot"][0]["reference"] == f"Slot/{mine.id}"
    assert _raw(fhir_server, f"Slot/{mine.id}")["status"] == "busy"


async def test_twenty_concurrent_bookings_of_one_slot_give_exactly_one_appointment(
    fhir_server: RunningServer,
) -> None:
    clients = [FhirHttpEhr(fhir_server.base_url, timeout_s=30.0) for _ in range(4)]
    try:
        slot = await _free_slot(clients[0], 30, specialty=FAMILY, location_id="loc-northgate")
        results = await asyncio.gather(
            *(
                clients[i % 4].book(slot_id=slot.id, patient_id=f"pat-{i + 11:03d}")
                for i in range(20)
            ),
            return_exceptions=True,
        )
    finally:
        for c in clients:
            await c.aclose()
    booked = [r for r in results if not isinstance(r, BaseException)]
    taken = [r for r in results if isinstance(r, SlotTaken)]
    assert len(booked) == 1 and len(taken) == 19, results
    stored = _raw(fhir_server, f"Appointment?slot=Slot/{slot.id}&_count=100").get("entry", [])
    assert [e["resource"]["id"] for e in stored] == [booked[0].id]
    assert _raw(fhir_server, f"Slot/{slot.id}")["status"] == "busy"


async def test_booking_and_cancelling_write_their_audit_events_in_the_same_transaction(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    def audit_codes() -> list[str]:
        bundle = _raw(fhir_server, "AuditEvent?entity=Patient/pat-045&_count=500")
        return [e["resource"]["subtype"][0]["code"] for e in bundle.get("entry", [])]

    before = audit_codes()
    slot = await _free_slot(ehr, 12, specialty=FAMILY)
    appt = await ehr.book(slot_id=slot.id, patient_id="pat-045")
    await ehr.cancel(appointment_id=appt.id)
    added = audit_codes()
    for code in before:
        added.remove(code)
    assert sorted(added) == ["create", "update"]


async def test_a_search_with_more_matches_than_a_page_still_gives_the_earliest_free_slots(
    ehr: FhirHttpEhr, fhir_server: RunningServer
) -> None:
    start = datetime.now(NY).replace(hour=0, minute=0, second=0, microsecond=0)
    start += timedelta(days=48)
    end = start + timedelta(days=6)
    slots = await ehr.search_free_slots(start=start, end=end, limit=400)
    query = "Slot?status=free&start=ge{}&start=lt{}&_count=1000".format(
        *(t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in (start, end))
    )
    everything = [e["resource"] for e in _raw(fhir_server, query).get("entry", [])]
    assert len(everything) > 400, "the window must hold more than a page of free slots"
    earliest = sorted(everything, key=lambda s: (datetime.fromisoformat(s["start"]), s["id"]))
    assert [s.start for s in slots] == [datetime.fromisoformat(s["start"]) for s in earliest[:400]]
