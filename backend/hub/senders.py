"""One entry point for messages the hub sends on its own (clinician replies, outreach).

Replies to an inbound message are sent by its webhook route; everything sent later goes
through `deliver_to_conversation`, which picks the conversation's channel sender, so the STOP
check (SMS, WhatsApp) and the WhatsApp 24-hour rule apply to every kind of message. Its
database reads and writes are short `DbWork` steps, none held while a provider is called.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Conversation, Handoff, utcnow
from backend.db.work import DbWork
from backend.handoff.live import LiveHub
from backend.hub.keywords import PHONE_CHANNELS
from backend.hub.outbound import PhoneOutbound
from backend.hub.telegram_outbound import TelegramOutbound
from channels import rest, webchat
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
    db: DbWork,
    phone: PhoneOutbound | None,
    telegram: TelegramOutbound | None,
    conversation_id: str,
    replies: list[Reply],
    kind: str,
    live: LiveHub | None = None,
    first_message_id: int | None = None,
) -> int:
    """Send `replies` on the conversation's own channel; the count of messages handed over.

    `kind` is recorded with each message (clinician, outreach, reply). Raises NoPushChannel
    for channels without a sender, and FreeTextRefused on WhatsApp outside the 24-hour window.

    Web chat (with `live`): pushed to the patient's open tabs; a closed tab shows them in its
    history when it comes back. REST (with `first_message_id`, the id of the first of these
    messages in the log): the patient cannot be called, so they are queued and handed over
    with the next webhook answer (docs/handoff.md, "Replies on REST and web chat").
    """
    channel = await db.run(partial(_channel_of, conversation_id))
    if channel in PHONE_CHANNELS and phone is not None:
        return await phone.deliver(conversation_id=conversation_id, replies=replies, kind=kind)
    if channel == TELEGRAM and telegram is not None:
        return await telegram.deliver(conversation_id=conversation_id, replies=replies)
    if channel == webchat.CHANNEL and live is not None:
        at = utcnow().isoformat()
        frames = [{"type": "bot", **entry} for entry in webchat.reply_frames(replies, at)]
        for frame in frames:
            frame["author"] = kind if kind == "clinician" else "bot"
            # No open tab: the widget's history frame shows the message when the patient returns.
            await live.push_webchat(conversation_id, frame)
        return len(replies)
    if channel == rest.CHANNEL and first_message_id is not None:
        await db.run(partial(queue_for_pull, conversation_id, first_message_id))
        return len(replies)
    raise NoPushChannel(conversation_id, channel)


def _channel_of(conversation_id: str, session: Session) -> str:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise LookupError(f"no conversation {conversation_id}")
    return conversation.channel


def queue_for_pull(conversation_id: str, first_message_id: int, session: Session) -> None:
    """Mark the conversation's messages from `first_message_id` on as not yet received by a
    REST patient (on the conversation's latest hand-off: unprompted messages belong to one)."""
    handoff = session.scalars(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
        .limit(1)
    ).first()
    if handoff is None:
        raise NoPushChannel(conversation_id, rest.CHANNEL)
    if handoff.patient_unread_from is None:
        handoff.patient_unread_from = first_message_id
        session.commit()
