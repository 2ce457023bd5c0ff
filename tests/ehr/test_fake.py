"""The in-memory fake behaves like the real port (for unit tests of other modules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.ehr import Ehr, EhrUnavailable, NotFound, SlotTaken
from backend.ehr.fake import InMemoryEhr

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def seeded() -> InMemoryEhr:
    return InMemoryEhr.from_seed(seed=42)


def test_the_fake_implements_the_port(seeded: InMemoryEhr) -> None:
    assert isinstance(seeded, Ehr)


async def test_booking_on_the_fake_takes_the_slot_once(seeded: InMemoryEhr) -> None:
    now = datetime.now(NY)
    slot = (
        await seeded.search_free_slots(
            start=now, end=now + timedelta(days=7), specialty="419772000"
        )
    )[0]
    appt = await seeded.book(slot_id=slot.id, patient_id="pat-001")
    assert appt.status == "booked" and seeded.resource("Slot", slot.id)["status"] == "busy"
    with pytest.raises(SlotTaken):
        await seeded.book(slot_id=slot.id, patient_id="pat-002")
    assert (await seeded.cancel(appointment_id=appt.id)).status == "cancelled"
    assert seeded.resource("Slot", slot.id)["status"] == "free"


async def test_the_fake_never_returns_preliminary_reports(seeded: InMemoryEhr) -> None:
    reports = [
        r
        for n in range(1, 52)
        for r in await seeded.released_lab_reports(patient_id=f"pat-{n:03d}")
    ]
    assert reports and all(r.status == "final" for r in reports)
    assert seeded.audit_log


async def test_fail_next_makes_one_call_fail(seeded: InMemoryEhr) -> None:
    seeded.fail_next = EhrUnavailable("Patient", "read patient")
    with pytest.raises(EhrUnavailable):
        await seeded.get_patient("pat-001")
    assert (await seeded.get_patient("pat-001")).family == "O'Connor"
    with pytest.raises(NotFound):
        await seeded.get_patient("nobody")


async def test_the_fake_saves_and_loads_a_file(seeded: InMemoryEhr, tmp_path: Path) -> None:
    path = tmp_path / "ehr.json"
    seeded.save(path)
    loaded = InMemoryEhr.from_file(path)
    assert [p.id for p in await loaded.find_patients_by_phone("+12125550151")] == [
        p.id for p in await seeded.find_patients_by_phone("+12125550151")
    ]
