"""Booking, moving and cancelling over POST /channels/rest/webhook, checked in the real EHR.

The patient proves who they are through the identity conversation itself (the code is read
from the development outbox, where the SMS to their number on file lands), so the booking is
made for exactly the patient the EHR knows by that name, birth date and phone.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from backend.ehr.domain import Appointment
from scripts.stack import StackConfig
from tests.utils.e2e_chat import (
    OFFERS,
    Outbox,
    RestChat,
    appointments,
    fresh_patients,
    slot_status,
    verify_in_conversation,
)

pytestmark = pytest.mark.e2e

ANY_REPLY = re.compile("")  # whatever the assistant says (even nothing)
ASK_TO_BOOK = "I need to book a checkup with a family doctor as soon as possible"


def booked(stack: StackConfig, patient_id: str) -> dict[str, Appointment]:
    """The patient's booked appointments by id."""
    return {a.id: a for a in appointments(stack, patient_id) if a.status == "booked"}


def choose_if_asked(chat: RestChat, asked: str, appointment_id: str, expect: str) -> None:
    """Seeded patients may have other appointments: pick ours as its button would (the
    button's payload is the appointment id)."""
    if "Which appointment" in asked:
        chat.say(appointment_id, expect=expect)
    else:
        assert expect.lower() in asked.lower(), asked


def test_booking_then_moving_then_cancelling_keeps_the_ehr_slots_right(
    stack: StackConfig,
) -> None:
    [patient] = asyncio.run(fresh_patients(stack, 1))
    chat = RestChat(stack, "e2e-booking-rest")
    before = booked(stack, patient.id)

    chat.say(ASK_TO_BOOK, expect="last name")
    offered = verify_in_conversation(chat, patient, Outbox(stack), by_phone=False)
    assert OFFERS.search(offered), offered
    assert "yes or a no" not in offered  # the form starting is not read as an answer
    chat.pick(0, expect=re.compile(r"\bBook .+\?"))
    chat.say("yes", expect="You're booked")

    after = booked(stack, patient.id)
    [new_id] = set(after) - set(before)
    appointment = after[new_id]
    assert appointment.patient_id == patient.id
    [first_slot] = appointment.slot_ids
    assert slot_status(stack, first_slot) == "busy"

    asked = chat.say("I need to reschedule my appointment", expect="move")
    assert "yes or a no" not in asked and "by its number" not in asked
    choose_if_asked(chat, asked, new_id, expect="move it to")
    chat.say("as soon as possible", expect=OFFERS)
    chat.pick(0, expect="Move your appointment to")
    chat.say("yes", expect="You're moved to")

    moved = booked(stack, patient.id)[new_id]  # the same appointment, on another slot
    [second_slot] = moved.slot_ids
    assert second_slot != first_slot
    assert slot_status(stack, first_slot) == "free"
    assert slot_status(stack, second_slot) == "busy"

    asked = chat.say("I need to cancel my appointment", expect="cancel")
    choose_if_asked(chat, asked, new_id, expect="Cancel your appointment")
    chat.say("yes", expect="is cancelled")

    assert booked(stack, patient.id) == before
    [cancelled] = [a for a in appointments(stack, patient.id) if a.id == new_id]
    assert cancelled.status == "cancelled"
    assert slot_status(stack, second_slot) == "free"


def test_an_unverified_conversation_is_asked_who_it_is_and_books_nothing(
    stack: StackConfig,
) -> None:
    [patient] = asyncio.run(fresh_patients(stack, 1))
    chat = RestChat(stack, "e2e-booking-anonymous")
    before = booked(stack, patient.id)

    asked = chat.say(ASK_TO_BOOK, expect="last name")
    assert not OFFERS.search(asked)
    # Someone who knows the patient's name but not their birth date gets no further.
    chat.say(patient.summary.family, expect="first name")
    chat.say(patient.summary.given, expect="date of birth")
    # The same answer as for the right date (docs/identity.md): no code reaches anyone.
    refused = chat.say("1 January 1901", expect="If those details match our records")
    assert "Book " not in refused
    chat.say("1", expect=ANY_REPLY)
    chat.say("yes", expect=ANY_REPLY)

    assert booked(stack, patient.id) == before
