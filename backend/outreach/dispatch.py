"""Sending one outreach message: every rule checked, the outbox claimed, Rasa asked what to
say, the patient's channel used, the transcript kept. Time is always passed in (`now`)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import Conversation
from backend.ehr import Ehr
from backend.ehr.errors import EhrError
from backend.hub import transcript
from backend.hub.keywords import PHONE_CHANNELS, is_opted_out
from backend.hub.outbound import FreeTextRefused, PhoneOutbound
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.hub.senders import NoPushChannel, deliver_to_conversation
from backend.hub.telegram_outbound import TelegramOutbound
from channels.base import Reply

from . import outbox
from .contacts import Contact, contact_by_hash, paused_kinds
from .kinds import UNCAPPED, OutreachConfig, intent_for
from .pacing import Pacer
from .plan import Planned, plan_for_patient
from .rules import WEEK

logger = logging.getLogger(__name__)
PAUSE_RETRY = timedelta(minutes=30)
FAILURE_RETRY = timedelta(minutes=10)
RETRYABLE = "failed_rasa"  # Rasa was down: nothing was sent, so the message may be tried again


class IntentTrigger(Protocol):
    """The part of the Rasa gateway outreach needs."""

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, str]
    ) -> list[Reply]: ...


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: `sent`, `deferred` (try again at `retry_at`) or `skipped_*`."""

    status: str
    retry_at: datetime | None = None


@dataclass
class Dispatcher:
    session_factory: sessionmaker[Session]
    cipher: Cipher
    ehr: Ehr
    rasa: IntentTrigger
    config: OutreachConfig
    phone: PhoneOutbound | None = None
    telegram: TelegramOutbound | None = None
    pacer: Pacer = field(default_factory=lambda: Pacer(0))  # provider rate limit (off)
    # One message in flight per conversation: a restart tells what a claim sent by looking at
    # what left for its conversation after it, which needs claims of one conversation in turn.
    _in_flight: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    def zone_of(self, contact: Contact) -> ZoneInfo:
        return ZoneInfo(contact.timezone) if contact.timezone else self.config.zone

    async def dispatch(self, *, job_id: str, patient_hash: str, now: datetime) -> Outcome:
        """Send the message behind `job_id` if every rule allows it at `now`."""
        with self.session_factory() as session:
            contact = contact_by_hash(session=session, cipher=self.cipher, key=patient_hash)
            paused = paused_kinds(session=session)
        if contact is None:
            return Outcome("skipped_no_contact")
        try:
            plan = await plan_for_patient(
                ehr=self.ehr,
                patient_id=contact.patient_id,
                patient_hash=patient_hash,
                zone=self.zone_of(contact),
                config=self.config,
                now=now,
            )
        except EhrError as exc:
            logger.warning(
                "outreach %s: EHR unavailable (%s), retrying", job_id, type(exc).__name__
            )
            return Outcome("deferred", now + FAILURE_RETRY)
        item = next((p for p in plan if p.job_id == job_id), None)
        if item is None:  # cancelled, moved past its time, refill already requested
            return Outcome("skipped_stale")
        # The rules and the claim in one turn per conversation, so two messages for the same
        # patient cannot both pass the frequency caps before either is claimed.
        async with self._in_flight[contact.conversation_id]:
            decision = self._check_rules(item, contact, paused, now)
            if decision is not None:
                return decision
            return await self._send(item, contact, now)

    def _check_rules(
        self, item: Planned, contact: Contact, paused: frozenset[str], now: datetime
    ) -> Outcome | None:
        """None when the message may go now; otherwise why not, and until when."""
        if item.kind not in contact.consents:
            return Outcome("skipped_no_consent")
        with self.session_factory() as session:
            if outbox.already_claimed(session=session, key=item.outbox_key):
                return Outcome("skipped_already_sent")
            if self._opted_out(session, contact.conversation_id):
                return Outcome("skipped_opted_out")
            capped = item.kind not in UNCAPPED
            sent = (
                outbox.capped_sent_times(
                    session=session, patient_hash=item.patient_hash, since=now - WEEK
                )
                if capped
                else []
            )
        if now < item.due:
            return self._later(item, item.due)
        if item.kind in paused:
            return self._later(item, now + PAUSE_RETRY)
        allowed = self.config.window.next_allowed(now, self.zone_of(contact))
        if capped:
            room = self.config.caps.next_allowed(now, sent)
            if room >= item.expires:
                return self._later(item, room)
            allowed = self.config.window.next_allowed(max(allowed, room), self.zone_of(contact))
        return None if allowed <= now else self._later(item, allowed)

    @staticmethod
    def _later(item: Planned, at: datetime) -> Outcome:
        if at >= item.expires:
            return Outcome("skipped_expired")  # e.g. the next allowed hour is after the visit
        return Outcome("deferred", at)

    def _opted_out(self, session: Session, conversation_id: str) -> bool:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return True
        if conversation.channel not in PHONE_CHANNELS:
            return False
        phone = self.cipher.decrypt(conversation.address_ciphertext)
        return is_opted_out(session=session, cipher=self.cipher, phone=phone)

    async def _send(self, item: Planned, contact: Contact, now: datetime) -> Outcome:
        with self.session_factory() as session:
            row = outbox.claim(
                session=session,
                item=item,
                conversation_id=contact.conversation_id,
                capped=item.kind not in UNCAPPED,
                now=now,
            )
        if row is None:
            return Outcome("skipped_already_sent")
        status = await self._deliver(contact.conversation_id, item.kind, item.entities)
        with self.session_factory() as session:
            if status == RETRYABLE:  # nothing left: give the claim back and try again later
                outbox.release(session=session, row_id=row.id)
                return Outcome("deferred", now + FAILURE_RETRY)
            outbox.finish(session=session, row_id=row.id, status=status, now=now)
        return Outcome(status)

    async def _deliver(self, conversation_id: str, kind: str, entities: dict[str, str]) -> str:
        """Ask Rasa for the words, send them, log them; the outbox status to record."""
        try:
            replies = await self.rasa.trigger_intent(conversation_id, intent_for(kind), entities)
        except AssistantUnavailable:
            logger.warning("outreach to %s: Rasa unavailable", conversation_id)
            return RETRYABLE
        if not replies:
            return "failed_no_words"
        await self.pacer.wait()
        try:
            count = await deliver_to_conversation(
                session_factory=self.session_factory,
                phone=self.phone,
                telegram=self.telegram,
                conversation_id=conversation_id,
                replies=replies,
                kind="outreach",
            )
        except NoPushChannel:
            return "failed_no_channel"
        except FreeTextRefused:
            return "failed_whatsapp_window"
        if count == 0:
            return "skipped_opted_out"
        with self.session_factory() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                transcript.log_outbound(
                    session=session,
                    cipher=self.cipher,
                    conversation=conversation,
                    replies=replies,
                    author="outreach",
                )
        return outbox.SENT

    async def recover(self, *, now: datetime) -> list[str]:
        """After a restart: settle every message that was started but not finished.

        What reached a provider is marked sent and not sent again; the rest is sent now. The
        statuses recorded, one per interrupted message.
        """
        with self.session_factory() as session:
            pending = outbox.interrupted_claims(session=session)
            settled = {row.id: outbox.left_the_system(session=session, row=row) for row in pending}
        statuses: list[str] = []
        for row in pending:
            if settled[row.id]:
                status = outbox.SENT
            else:
                entities = await self._entities_for(row.job_id, row.patient_hash, now)
                status = (
                    "skipped_stale"
                    if entities is None
                    else await self._deliver(row.conversation_id, row.kind, entities)
                )
            with self.session_factory() as session:
                if status == RETRYABLE:  # the next sync plans it again
                    outbox.release(session=session, row_id=row.id)
                else:
                    outbox.finish(session=session, row_id=row.id, status=status, now=now)
            statuses.append(status)
        return statuses

    async def _entities_for(
        self, job_id: str, patient_hash: str, now: datetime
    ) -> dict[str, str] | None:
        """The words of an interrupted message, re-read: None if it no longer makes sense."""
        with self.session_factory() as session:
            contact = contact_by_hash(session=session, cipher=self.cipher, key=patient_hash)
        if contact is None:
            return None
        try:
            plan = await plan_for_patient(
                ehr=self.ehr,
                patient_id=contact.patient_id,
                patient_hash=patient_hash,
                zone=self.zone_of(contact),
                config=self.config,
                now=now,
            )
        except EhrError:
            return None
        item = next((p for p in plan if p.job_id == job_id), None)
        return item.entities if item is not None else None
