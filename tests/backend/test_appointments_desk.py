"""Offers, alternatives, booking, rescheduling and cancelling against the in-memory EHR."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.appointments.calendar import ClinicCalendar
from backend.appointments.directory import find_clinic, find_specialty, mentions_child
from backend.appointments.offers import Criteria
from backend.appointments.service import AppointmentDesk, how_to_cancel
from backend.ehr.errors import NotFound
from backend.ehr.fake import InMemoryEhr

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)  # a Monday morning
FAMILY, DERM = "419772000", "394582007"
PATIENT, OTHER = "pat-001", "pat-002"


@pytest.fixture(scope="module")
def clinic_resources() -> list[dict]:
    """The synthetic clinic generated once (seconds); each test gets its own copy."""
    from backend.ehr.seed.generate import generate_clinic

    return generate_clinic(seed=42, now=NOW)


@pytest.fixture
def ehr(clinic_resources: list[dict]) -> InMemoryEhr:
    return InMemoryEhr(clinic_resources)


def desk(ehr: InMemoryEhr, now: datetime = NOW) -> AppointmentDesk:
    return AppointmentDesk(
        ehr=ehr,
        calendar=ClinicCalendar(tz=TZ),
        now=now,
        cancel_notice=timedelta(hours=24),
        what_to_bring="Bring a photo ID.",
        clinic_phone="+1 555-0100",
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I need to see a skin doctor next week", DERM),
        ("book my son for a checkup", FAMILY),
        ("need a heart doctor", "394579002"),
        ("i want to make an apointment w a heart doc", "394579002"),
        ("can i see a GP", FAMILY),
        ("obgyn appt pls", "394586005"),
        ("tomorrow afternoon", None),
    ],
)
def test_specialties_are_found_in_patient_words(text: str, code: str | None) -> None:
    assert find_specialty(text) == code


async def test_clinics_are_found_by_their_neighbourhood(ehr: InMemoryEhr) -> None:
    clinics = await ehr.list_clinics()
    found = find_clinic("anything at the elm park clinic on friday", clinics)
    assert found is not None and found.id == "loc-elm-park"
    assert find_clinic("anything at the downtown clinic", clinics) is None


def test_a_child_is_noticed() -> None:
    assert mentions_child("book my son for a checkup")
    assert not mentions_child("book me a checkup")


async def test_missing_what_then_when_are_asked_one_at_a_time(ehr: InMemoryEhr) -> None:
    first = await desk(ehr).search(criteria=Criteria(), text="i want an appointment")
    assert first.need == "what" and first.slots == []
    second = await desk(ehr).search(criteria=first.criteria.to_criteria(), text="a checkup")
    assert second.need == "when"
    assert second.criteria.specialty == FAMILY


async def test_tomorrow_afternoon_offers_three_to_five_slots_in_that_window(
    ehr: InMemoryEhr,
) -> None:
    found = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="tomorrow afternoon")
    assert found.alternative == "match" and 3 <= len(found.slots) <= 5
    for slot in found.slots:
        local = slot.start.astimezone(TZ)
        assert local.date() == (NOW + timedelta(days=1)).date() and 12 <= local.hour < 17
        assert slot.practitioner_name and slot.clinic_address


async def test_a_named_doctor_is_offered_only_on_their_days(ehr: InMemoryEhr) -> None:
    found = await desk(ehr).search(criteria=Criteria(), text="can I get in with Dr Okafor tuesday")
    assert found.criteria.practitioner_id == "prac-01"
    assert found.slots and all(s.practitioner_name == "Dr. Amara Okafor" for s in found.slots)


async def test_a_doctor_who_does_not_work_that_day_leads_to_a_colleague(ehr: InMemoryEhr) -> None:
    # Dr Okafor works Monday to Thursday only.
    found = await desk(ehr).search(criteria=Criteria(), text="dr okafor on friday")
    assert found.alternative == "other_clinician"
    assert found.slots and all(s.practitioner_name != "Dr. Amara Okafor" for s in found.slots)
    assert "another family medicine" in found.note.lower()


async def test_a_booked_out_specialty_offers_the_next_available_days(ehr: InMemoryEhr) -> None:
    # The seed's only dermatologist is booked solid for four weeks.
    found = await desk(ehr).search(criteria=Criteria(), text="skin doctor next week")
    assert found.alternative == "later_days"
    assert found.slots and all(s.start > NOW + timedelta(days=14) for s in found.slots)
    assert found.note.startswith("Nothing is free next week")


async def test_a_correction_changes_only_the_day(ehr: InMemoryEhr) -> None:
    first = await desk(ehr).search(criteria=Criteria(), text="checkup at elm park tomorrow")
    second = await desk(ehr).search(criteria=first.criteria.to_criteria(), text="actually friday")
    assert second.criteria.location_id == "loc-elm-park"
    assert second.criteria.specialty == FAMILY
    assert all(s.start.astimezone(TZ).weekday() == 4 for s in second.slots)


async def test_an_impossible_date_is_a_question_not_an_error(ehr: InMemoryEhr) -> None:
    found = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="February 30")
    assert found.need == "when" and found.question and "February" in found.question
    assert found.criteria.when_text is None


async def test_booking_makes_the_slot_busy_and_says_where_and_what_to_bring(
    ehr: InMemoryEhr,
) -> None:
    offer = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="asap")
    slot = offer.slots[0]
    booked = await desk(ehr).book(
        patient_id=PATIENT, slot_id=slot.id, reason="checkup", criteria=Criteria(), channel="rest"
    )
    assert booked.outcome == "booked" and booked.appointment is not None
    assert booked.appointment.clinic_address == slot.clinic_address
    assert booked.what_to_bring == "Bring a photo ID."
    assert ehr._get("Slot", slot.id)["status"] == "busy"


async def test_a_slot_taken_meanwhile_is_said_and_the_next_ones_offered(ehr: InMemoryEhr) -> None:
    criteria = Criteria(specialty=FAMILY, when_text="asap")
    offer = await desk(ehr).search(criteria=criteria, text="")
    taken = offer.slots[0].id
    await ehr.book(slot_id=taken, patient_id=OTHER)
    answer = await desk(ehr).book(
        patient_id=PATIENT, slot_id=taken, reason=None, criteria=criteria, channel="rest"
    )
    assert answer.outcome == "slot_taken" and answer.offers is not None
    assert answer.offers.slots and taken not in {s.id for s in answer.offers.slots}


async def test_cancelling_frees_the_slot_and_flags_a_late_cancellation(ehr: InMemoryEhr) -> None:
    offer = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="tomorrow")
    slot = offer.slots[0]
    booked = await desk(ehr).book(
        patient_id=PATIENT, slot_id=slot.id, reason=None, criteria=Criteria(), channel="rest"
    )
    assert booked.appointment is not None
    evening = NOW + timedelta(hours=12)  # the slot is tomorrow: less than 24 h ahead by now
    done = await desk(ehr, evening).cancel(patient_id=PATIENT, appointment_id=booked.appointment.id)
    assert done.appointment.status == "cancelled" and done.late
    assert ehr._get("Slot", slot.id)["status"] == "free"


async def test_cancelling_well_ahead_is_not_late(ehr: InMemoryEhr) -> None:
    offer = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="next week")
    booked = await desk(ehr).book(
        patient_id=PATIENT, slot_id=offer.slots[0].id, reason=None, criteria=Criteria(), channel=""
    )
    assert booked.appointment is not None
    done = await desk(ehr).cancel(patient_id=PATIENT, appointment_id=booked.appointment.id)
    assert not done.late


async def test_someone_elses_appointment_cannot_be_cancelled(ehr: InMemoryEhr) -> None:
    offer = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="asap")
    theirs = await ehr.book(slot_id=offer.slots[0].id, patient_id=OTHER)
    with pytest.raises(NotFound):
        await desk(ehr).cancel(patient_id=PATIENT, appointment_id=theirs.id)
    assert ehr._get("Appointment", theirs.id)["status"] == "booked"


async def test_rescheduling_frees_the_old_slot_and_takes_the_new(ehr: InMemoryEhr) -> None:
    offer = await desk(ehr).search(criteria=Criteria(specialty=FAMILY), text="next week")
    old, new = offer.slots[0].id, offer.slots[1].id
    booked = await desk(ehr).book(
        patient_id=PATIENT, slot_id=old, reason=None, criteria=Criteria(), channel="rest"
    )
    assert booked.appointment is not None
    moved = await desk(ehr).reschedule(
        patient_id=PATIENT,
        appointment_id=booked.appointment.id,
        slot_id=new,
        criteria=Criteria(),
        channel="rest",
    )
    assert moved.outcome == "booked"
    assert ehr._get("Slot", old)["status"] == "free"
    assert ehr._get("Slot", new)["status"] == "busy"
    listed = await desk(ehr).upcoming(patient_id=PATIENT, channel="rest")
    mine = [a for a in listed.appointments if a.id == booked.appointment.id]
    assert len(mine) == 1 and mine[0].start == offer.slots[1].start


async def test_a_request_to_the_clinic_names_the_period(ehr: InMemoryEhr) -> None:
    requested = await desk(ehr).request(
        patient_id=PATIENT,
        criteria=Criteria(specialty=DERM, when_text="next week"),
        reason="a rash",
    )
    proposed = ehr._get("Appointment", requested.request_id)
    assert proposed["status"] == "proposed"
    assert proposed["specialty"] == [{"text": "Dermatology"}]
    [period] = proposed["requestedPeriod"]
    assert period["start"].startswith("2026-11-23")


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_sms_and_whatsapp_patients_are_never_told_to_reply_cancel(channel: str) -> None:
    wording = how_to_cancel(channel, "+1 555-0100")
    assert "cancel" not in wording.lower()
    assert "+1 555-0100" in wording


def test_web_chat_patients_are_told_they_can_say_cancel_my_appointment() -> None:
    assert "cancel my appointment" in how_to_cancel("webchat", "+1 555-0100")
