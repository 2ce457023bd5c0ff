"""One entry point for messages the hub sends on its own (clinician replies, outreach).

Replies to an inbound message are sent by its webhook route; everything sent later goes
through `deliver_to_conversation`, which picks the conversation's channel sender, so the STOP
check (SMS, WhatsApp) and the WhatsApp 24-hour rule apply to every kind of message.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Conversation
from backend.hub.keywords import PHONE_CHANNELS
from backend.hub.outbound import PhoneOutbound
from backend.hub.telegram_outbound import TelegramOutbound
from channels.base import Reply
from channels.telegram import CHANNEL as TELEGRAM


class NoPushChannel(LookupError):
    """The conversation's channel cannot be written to unprompted (REST; web chat pushes
    through its own socket)."""

    def __init__(self, conversation_id: str, channel: str) -> None:
        super().__init__(f"conversation {conversation_id} is on {channel}, which has no sender")
        self.conversation_id = conversation_id
        self.channel = channel


async def deliver_to_conversation(
    *,
    session_factory: sessionmaker[Session],
    phone: PhoneOutbound | None,
    telegram: TelegramOutbound | None,
    conversation_id: str,
    replies: list[Reply],
    kind: str,
) -> int:
    """Send `replies` on the conversation's own channel; the count of messages handed over.

    `kind` is recorded with each message (clinician, outreach, reply). Raises NoPushChannel
    for channels without a sender, and FreeTextRefused on WhatsApp outside the 24-hour window.
    """
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise LookupError(f"no conversation {conversation_id}")
        channel = conversation.channel
    if channel in PHONE_CHANNELS and phone is not None:
        return await phone.deliver(conversation_id=conversation_id, replies=replies, kind=kind)
    if channel == TELEGRAM and telegram is not None:
        return await telegram.deliver(conversation_id=conversation_id, replies=replies)
    raise NoPushChannel(conversation_id, channel)
