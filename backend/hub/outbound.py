"""Sending to patients on phone channels (SMS, WhatsApp): consent first, then the provider.

Every outbound message of every kind (a reply, outreach, a clinician's message) goes through
`PhoneOutbound.deliver`, which checks the number's STOP/START consent before anything leaves,
renders the replies for the channel and records each body's delivery. The transport
(backend/hub/transports.py) is Twilio when an account is configured and the development
outbox otherwise, chosen once at start-up (backend/services.py).

WhatsApp allows free text only within 24 hours of the patient's last message; outside that
window only approved templates (a Content API sid per message kind, plus variables) may be
sent, and `deliver` refuses free text with `FreeTextRefused`.

The consent checks and delivery records are short `DbWork` steps (backend/db/work.py): no
database connection is held while a provider takes a message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from backend.core.crypto import Cipher
from backend.db.models import Conversation, OutboundDelivery, as_utc, utcnow
from backend.db.work import DbWork
from backend.hub.delivery_status import StatusOutcome, record_delivery_status
from backend.hub.keywords import PHONE_CHANNELS, is_opted_out
from backend.hub.transports import Transport
from channels.base import Reply
from channels.twilio.client import ChannelNotConfigured
from channels.twilio.render import render_for_channel

logger = logging.getLogger(__name__)
WHATSAPP_WINDOW = timedelta(hours=24)
_SEND_ERRORS = (TwilioRestException, ChannelNotConfigured)
# Twilio's clock and ours differ: what the provider took is looked for from a little earlier
# than a claim (what the hub recorded in that margin is recognised by its id).
CLOCK_MARGIN = timedelta(minutes=2)


class FreeTextRefused(Exception):
    """WhatsApp free text outside the 24-hour window: send a template (`deliver_template`)."""

    def __init__(self, conversation_id: str, last_patient_message: datetime) -> None:
        super().__init__(
            f"conversation {conversation_id}: the patient last wrote at "
            f"{last_patient_message.isoformat()}, outside WhatsApp's 24-hour window; "
            "send an approved template instead"
        )
        self.conversation_id = conversation_id
        self.last_patient_message = last_patient_message


class UnknownTemplate(LookupError):
    """No Content API sid is configured for this message kind (TWILIO_WHATSAPP_TEMPLATES)."""


class PhoneOutbound:
    """The one way out to a phone number; refuses every message to an opted-out number."""

    def __init__(
        self,
        *,
        db: DbWork,
        cipher: Cipher,
        transport: Transport,
        whatsapp_templates: dict[str, str] | None = None,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._transport = transport
        self._templates = dict(whatsapp_templates or {})

    async def deliver(
        self, *, conversation_id: str, replies: list[Reply], kind: str = "reply"
    ) -> int:
        """Send `replies` to the conversation's number; the count of messages handed over.

        Nothing is sent to an opted-out number. Raises FreeTextRefused on WhatsApp outside
        the 24-hour window.
        """
        found = await self._db.run(partial(self._bodies, conversation_id, replies, kind))
        if found is None:
            return 0
        channel, phone, bodies = found
        sent = 0
        for body in bodies:
            if not await self._hand_over(
                conversation_id, channel, kind, self._transport.send, to=phone, body=body
            ):
                break
            sent += 1
        return sent

    def _bodies(
        self, conversation_id: str, replies: list[Reply], kind: str, session: Session
    ) -> tuple[str, str, list[str]] | None:
        """(channel, number, rendered bodies) for `deliver`; None when nothing may go."""
        channel, phone, last_in = self._recipient(session, conversation_id)
        bodies = [body for reply in replies for body in render_for_channel(reply, channel)]
        if not bodies or self._blocked(session, conversation_id, channel, kind, phone):
            return None
        if channel == "whatsapp" and _now() - last_in > WHATSAPP_WINDOW:
            self._record(session, conversation_id, channel, kind, None, "blocked_window")
            raise FreeTextRefused(conversation_id, last_in)
        return channel, phone, bodies

    async def deliver_template(
        self,
        *,
        conversation_id: str,
        template: str,
        variables: dict[str, str],
        kind: str = "outreach",
    ) -> int:
        """Send the approved WhatsApp template configured for `template` (any time of day)."""
        content_sid = self._templates.get(template)
        if content_sid is None:
            raise UnknownTemplate(f"no WhatsApp template is configured for {template!r}")

        def whatsapp_number(session: Session) -> str | None:
            channel, phone, _ = self._recipient(session, conversation_id)
            if channel != "whatsapp":
                raise ValueError(f"templates are for WhatsApp, not {channel}")
            return None if self._blocked(session, conversation_id, channel, kind, phone) else phone

        phone = await self._db.run(whatsapp_number)
        if phone is None:
            return 0
        channel = "whatsapp"
        sent = await self._hand_over(
            conversation_id,
            channel,
            kind,
            self._transport.send_template,
            to=phone,
            content_sid=content_sid,
            variables=variables,
        )
        return int(sent)

    async def send_sms_to_number(
        self, *, conversation_id: str, phone: str, body: str, kind: str = "identity_code"
    ) -> bool:
        """One SMS to a number other than the conversation's own (a one-time code goes to the
        phone on file in the EHR); recorded on `conversation_id`. False when the number opted
        out or the provider refused it. The body is never logged."""
        if await self._db.run(lambda s: self._blocked(s, conversation_id, "sms", kind, phone)):
            return False
        return await self._hand_over(
            conversation_id, "sms", kind, self._transport.send, to=phone, body=body
        )

    async def took_unrecorded(self, *, conversation_id: str, since: datetime) -> bool | None:
        """Whether the provider took a message for this conversation's number at or after
        `since` that no delivery row records: one cut short between the provider's answer and
        its record (a process killed there). Recorded now, so it is not found twice.

        None when the provider cannot be asked, or the conversation is not on a phone channel.
        """
        try:
            channel, phone, _ = await self._db.run(lambda s: self._recipient(s, conversation_id))
        except ValueError:
            return None
        try:
            taken = await asyncio.to_thread(
                self._transport.sent_since, channel=channel, to=phone, since=since - CLOCK_MARGIN
            )
        except _SEND_ERRORS as exc:
            code = getattr(exc, "code", None) or "no_sender"
            logger.warning("could not ask the provider about %s (%s)", conversation_id, code)
            return None
        if not taken:
            return False

        def record_unrecorded(session: Session) -> bool:
            recorded = set(
                session.scalars(
                    select(OutboundDelivery.provider_message_id).where(
                        OutboundDelivery.provider_message_id.in_(sorted(taken))
                    )
                )
            )
            unrecorded = sorted(taken - recorded)
            for sid in unrecorded:
                self._record(session, conversation_id, channel, "outreach", sid, "recovered")
            return bool(unrecorded)

        return await self._db.run(record_unrecorded)

    async def record_status(
        self, *, message_sid: str, status: str, error_code: str | None
    ) -> StatusOutcome:
        """Record a status callback if it moves the message's status forward (a late or
        replayed one does not; backend/hub/delivery_status.py)."""
        return await self._db.run(
            partial(
                record_delivery_status,
                message_sid=message_sid,
                status=status,
                error_code=error_code,
            )
        )

    def _recipient(self, session: Session, conversation_id: str) -> tuple[str, str, datetime]:
        """(channel, E.164 number, time of the patient's last message) of a phone conversation."""
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.channel not in PHONE_CHANNELS:
            raise ValueError(f"conversation {conversation_id} is not on a phone channel")
        last_in = as_utc(conversation.last_message_at)
        return conversation.channel, self._cipher.decrypt(conversation.address_ciphertext), last_in

    def _blocked(
        self, session: Session, conversation_id: str, channel: str, kind: str, phone: str
    ) -> bool:
        """True (and recorded) when the number opted out: nothing may be sent to it."""
        if not is_opted_out(session=session, cipher=self._cipher, phone=phone):
            return False
        self._record(session, conversation_id, channel, kind, None, "blocked_opt_out")
        logger.info("not sending to %s: the number opted out", conversation_id)
        return True

    async def _hand_over(
        self, conversation_id: str, channel: str, kind: str, send: Any, **message: Any
    ) -> bool:
        """Run one blocking provider call in a thread and record its outcome."""
        try:
            sid, status = await asyncio.to_thread(send, channel=channel, **message)
        except _SEND_ERRORS as exc:
            code = str(getattr(exc, "code", None) or "no_sender")
            logger.warning("message for %s not sent (%s)", conversation_id, code)
            await self._db.run(
                lambda s: self._record(s, conversation_id, channel, kind, None, "failed", code)
            )
            return False
        await self._db.run(lambda s: self._record(s, conversation_id, channel, kind, sid, status))
        return True

    @staticmethod
    def _record(
        session: Session,
        conversation_id: str,
        channel: str,
        kind: str,
        sid: str | None,
        status: str,
        error_code: str | None = None,
    ) -> None:
        session.add(
            OutboundDelivery(
                conversation_id=conversation_id,
                channel=channel,
                kind=kind,
                provider_message_id=sid,
                status=status,
                error_code=error_code,
            )
        )
        session.commit()


def _now() -> datetime:
    return utcnow()
