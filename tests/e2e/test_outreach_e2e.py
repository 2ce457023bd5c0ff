"""Scheduled outreach through the running stack (issue 10): the scheduler process finds a
booked appointment in the EHR, asks Rasa for the reminder and sends it by SMS; the patient's
"C", "R" or "X" reply, through the signed Twilio webhook, changes the appointment in the EHR.

The e2e stack gives no default consent (tests/e2e/conftest.py), so outreach reaches only the
patient whose consent this test records with the operators' command, and nothing else in the
e2e suite is interrupted by a reminder.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backend.ehr import FhirHttpEhr
from backend.ehr.domain import Appointment
from backend.ehr.errors import SlotTaken
from scripts.stack import VENV, StackConfig
from tests.utils.e2e_chat import (
    OFFERS,
    Outbox,
    SeedPatient,
    TwilioChat,
    appointments,
    fresh_patients,
    slot_status,
    verify_in_conversation,
)

pytestmark = pytest.mark.e2e
# The whole reminder, however many SMS it took: waiting for its first words alone could
# return before the last part ("Reply C ...") has left.
REMINDER = re.compile(r"Reminder: you have an appointment.*Reply C to confirm", re.DOTALL)


async def _book_within_the_reminder_lead(stack: StackConfig, patient_id: str) -> Appointment:
    """The clinic books the patient (by phone, say) into the first free slot from three hours
    on: inside the e2e stack's first reminder lead, so that reminder is due at once."""
    ehr = FhirHttpEhr(stack.ehr_base_url, timeout_s=15.0)
    now = datetime.now(UTC)
    try:
        slots = await ehr.search_free_slots(
            start=now + timedelta(hours=3), end=now + timedelta(days=6), limit=10
        )
        for slot in slots:
            try:
                return await ehr.book(slot_id=slot.id, patient_id=patient_id, reason="check-up")
            except SlotTaken:
                continue
    finally:
        await ehr.aclose()
    raise AssertionError("the seeded clinic has no free slot in the next six days")


def _operators_command(stack: StackConfig, *args: str) -> str:
    """`python -m backend.outreach ...` against the stack, as staff would run it; its output."""
    done = subprocess.run(
        [str(VENV / "python"), "-m", "backend.outreach", *args],
        env=stack.process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _record_consent(stack: StackConfig, patient: SeedPatient) -> str:
    """Staff record the patient's consent to reminders on their SMS conversation."""
    return _operators_command(
        stack,
        "contact",
        "--patient",
        patient.id,
        "--sms",
        patient.phone,
        "--kinds",
        "appointment_reminder",
    )


def _responses_to(stack: StackConfig, appointment_id: str) -> list[dict[str, object]]:
    """The AppointmentResponses the EHR holds for the appointment."""
    response = httpx.get(
        f"{stack.ehr_base_url}/AppointmentResponse",
        params={"appointment": f"Appointment/{appointment_id}"},
        timeout=15,
    )
    response.raise_for_status()
    return [entry["resource"] for entry in response.json().get("entry", [])]


def _patient_with_nothing_booked_this_week(stack: StackConfig) -> SeedPatient:
    """A fresh patient none of whose own appointments falls inside the first reminder lead
    (168 h): once they consent, those would be reminded too, and "C" would answer whichever
    reminder came last, not the one this test books."""
    soon = datetime.now(UTC) + timedelta(days=8)
    for _ in range(40):
        [patient] = asyncio.run(fresh_patients(stack, 1))
        upcoming = [
            a
            for a in appointments(stack, patient.id)
            if a.status in {"booked", "pending", "proposed"} and a.start and a.start < soon
        ]
        if not upcoming:
            return patient
    raise AssertionError("no seeded patient is free of appointments this week")


def _reminded_patient(stack: StackConfig) -> tuple[TwilioChat, SeedPatient, Appointment]:
    """A patient verified on SMS, booked by the clinic, who then gets the scheduler's reminder."""
    patient = _patient_with_nothing_booked_this_week(stack)
    outbox = Outbox(stack)
    chat = TwilioChat(stack, "sms", patient.phone)
    chat.say("what appointments do I have?", expect="date of birth")
    verify_in_conversation(chat, patient, outbox, by_phone=True)
    booked = asyncio.run(_book_within_the_reminder_lead(stack, patient.id))
    outbox.mark_read("sms", patient.phone)

    _record_consent(stack, patient)
    reminder = outbox.wait_for("sms", patient.phone, REMINDER)

    assert "Reply C to confirm, R to reschedule, or X to cancel it" in reminder
    assert "reply cancel" not in reminder.lower()  # a carrier opt-out keyword on SMS
    assert f"reminder:{booked.id}:" in _operators_command(stack, "status")
    return chat, patient, booked


def test_c_answering_a_scheduled_reminder_confirms_it_in_the_ehr(stack: StackConfig) -> None:
    chat, _, booked = _reminded_patient(stack)

    chat.say("C", expect="your appointment is confirmed")

    [accepted] = _responses_to(stack, booked.id)
    assert accepted["participantStatus"] == "accepted"
    assert accepted["appointment"] == {"reference": f"Appointment/{booked.id}"}


def test_x_answering_a_scheduled_reminder_cancels_that_appointment(stack: StackConfig) -> None:
    chat, patient, booked = _reminded_patient(stack)
    others = {a.id: a.status for a in appointments(stack, patient.id) if a.id != booked.id}

    asked = chat.say("X", expect="Cancel your appointment")
    assert "Which appointment" not in asked  # the reminder said which one
    chat.say("yes", expect="is cancelled")

    after = {a.id: a.status for a in appointments(stack, patient.id)}
    assert after.pop(booked.id) == "cancelled"
    assert after == others  # the patient's other appointments are untouched


def test_r_answering_a_scheduled_reminder_moves_that_appointment(stack: StackConfig) -> None:
    chat, patient, booked = _reminded_patient(stack)
    [first_slot] = booked.slot_ids

    asked = chat.say("R", expect="move it to")
    assert "Which appointment" not in asked  # the reminder said which one
    chat.say("as soon as possible", expect=OFFERS)
    chat.pick(0, expect="Move your appointment to")
    chat.say("yes", expect="You're moved to")

    [moved] = [a for a in appointments(stack, patient.id) if a.id == booked.id]
    assert moved.status == "booked"
    assert moved.slot_ids != booked.slot_ids
    assert slot_status(stack, first_slot) == "free"
