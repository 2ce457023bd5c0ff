"""The same scripted booking on SMS, WhatsApp, Telegram and web chat, through each real route.

SMS and WhatsApp are posted to /channels/twilio/{sms,whatsapp} with the X-Twilio-Signature
Twilio would compute (twilio's RequestValidator, for the configured public URL and auth
token); Telegram updates go to /channels/telegram with the webhook's secret token; the web
chat speaks its WebSocket. No provider account is configured, so what the assistant sends by
SMS, WhatsApp and Telegram (the identity code included) lands in the development outbox.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from scripts.stack import StackConfig
from tests.utils.e2e_chat import (
    Chat,
    Outbox,
    SeedPatient,
    TelegramChat,
    TwilioChat,
    WebChat,
    appointments,
    fresh_patients,
    slot_status,
    verify_in_conversation,
)

pytestmark = pytest.mark.e2e

ASK_TO_BOOK = "I need to book a checkup with a family doctor as soon as possible"
TELEGRAM_CHAT_ID = 7_100_000_001

CHANNELS: dict[str, Callable[[StackConfig, SeedPatient], Chat]] = {
    "sms": lambda stack, patient: TwilioChat(stack, "sms", patient.phone),
    "whatsapp": lambda stack, patient: TwilioChat(stack, "whatsapp", patient.phone),
    "telegram": lambda stack, _: TelegramChat(stack, TELEGRAM_CHAT_ID),
    "webchat": lambda stack, _: WebChat(stack),
}
PHONE_CHANNELS = {"sms", "whatsapp"}  # the sender's number narrows who it can be


@pytest.fixture(scope="module")
def patients(stack: StackConfig) -> dict[str, SeedPatient]:
    found = asyncio.run(fresh_patients(stack, len(CHANNELS)))
    return dict(zip(CHANNELS, found, strict=True))


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_the_scripted_booking_succeeds_on_every_channel(
    stack: StackConfig, patients: dict[str, SeedPatient], channel: str
) -> None:
    patient = patients[channel]
    chat = CHANNELS[channel](stack, patient)
    by_phone = channel in PHONE_CHANNELS
    before = {a.id for a in appointments(stack, patient.id) if a.status == "booked"}
    try:
        chat.say(ASK_TO_BOOK, expect="date of birth" if by_phone else "last name")
        verify_in_conversation(chat, patient, Outbox(stack), by_phone=by_phone)
        # The offers follow the confirmation; on the phone channels they may come a moment
        # after it, so the pick waits for the read-back that only follows a valid choice.
        chat.pick(0, expect=re.compile(r"\bBook .+\?"))
        chat.say("yes", expect="You're booked")
    finally:
        if isinstance(chat, WebChat):
            chat.close()

    [appointment] = [
        a for a in appointments(stack, patient.id) if a.status == "booked" and a.id not in before
    ]
    assert appointment.patient_id == patient.id
    [slot_id] = appointment.slot_ids
    assert slot_status(stack, slot_id) == "busy"
