"""Sending one outreach message: every rule checked, the outbox claimed, Rasa asked what to
say, the patient's channel used, the transcript kept. Time is always passed in (`now`)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import Conversation, OutreachOutbox, PhoneConsent, as_utc
from backend.db.work import DbWork
from backend.ehr import Ehr
from backend.ehr.errors import EhrError
from backend.hub.keywords import PHONE_CHANNELS, phone_hash
from backend.hub.outbound import FreeTextRefused, PhoneOutbound, UnknownTemplate
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.hub.senders import NoPushChannel, deliver_to_conversation
from backend.hub.telegram_outbound import TelegramOutbound
from channels.base import Reply

from . import outbox
from .contacts import Contact, contact_by_hash, contacts_by_hash, paused_kinds
from .kinds import UNCAPPED, OutreachConfig, intent_for
from .pacing import Pacer
from .plan import Planned, plan_for_patient
from .rules import WEEK
from .transcript_batch import add_outreach_lines

logger = logging.getLogger(__name__)
PAUSE_RETRY = timedelta(minutes=30)
FAILURE_RETRY = timedelta(minutes=10)
PLAN_READS_AT_ONCE = 8  # EHR reads of one batch in flight
# After a restart, how many claims' providers are asked at once (a Twilio list call is ~0.3 s).
PROVIDER_QUESTIONS_AT_ONCE = 8
UNSETTLED = "failed_unexpected"  # left `sending`: the next start settles it
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
    db: DbWork  # the channel senders' database steps (the same DbWork as `phone`'s)
    cipher: Cipher
    ehr: Ehr
    rasa: IntentTrigger
    config: OutreachConfig
    phone: PhoneOutbound | None = None
    telegram: TelegramOutbound | None = None
    pacer: Pacer = field(default_factory=lambda: Pacer(0))  # provider rate limit (off)
    sends_at_once: int = 8  # provider calls in flight (each in a thread)
    # One message in flight per conversation: a restart tells what a claim sent by looking at
    # what left for its conversation after it, which needs claims of one conversation in turn.
    _in_flight: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    def zone_of(self, contact: Contact) -> ZoneInfo:
        return ZoneInfo(contact.timezone) if contact.timezone else self.config.zone

    async def dispatch(self, *, job_id: str, patient_hash: str, now: datetime) -> Outcome:
        """Send the message behind `job_id` if every rule allows it at `now`."""
        (outcome,) = await self.dispatch_many([(job_id, patient_hash)], now=now)
        return outcome

    async def dispatch_many(
        self, requests: Sequence[tuple[str, str]], *, now: datetime
    ) -> list[Outcome]:
        """`dispatch` for several (job id, patient hash) at once; outcomes in the same order.

        The database work is shared: one read of the contacts, one transaction for the rules
        and the claims of every message that may go, the sends side by side, one commit for
        the outcomes. Messages for the same conversation still go one after the other.
        """
        outcomes: dict[int, Outcome] = {}
        with self.session_factory() as session:
            contacts = contacts_by_hash(
                session=session, cipher=self.cipher, keys=(key for _, key in requests)
            )
            paused = paused_kinds(session=session)
        plans = await self._plans(list(contacts.values()), now)
        waiting: list[tuple[int, Planned, Contact]] = []
        for index, (job_id, key) in enumerate(requests):
            contact = contacts.get(key)
            plan = plans.get(key)
            item = next((p for p in plan or () if p.job_id == job_id), None)
            if contact is None:
                outcomes[index] = Outcome("skipped_no_contact")
            elif plan is None:  # the EHR did not answer: try again later
                outcomes[index] = Outcome("deferred", now + FAILURE_RETRY)
            elif item is None:  # cancelled, moved past its time, refill already requested
                outcomes[index] = Outcome("skipped_stale")
            else:
                waiting.append((index, item, contact))
        while waiting:  # rounds of at most one message per conversation (see _in_flight)
            round_: dict[str, tuple[int, Planned, Contact]] = {}
            later: list[tuple[int, Planned, Contact]] = []
            for entry in waiting:
                if entry[2].conversation_id in round_:
                    later.append(entry)
                else:
                    round_[entry[2].conversation_id] = entry
            outcomes.update(await self._dispatch_round(list(round_.values()), paused, now))
            waiting = later
        return [outcomes[index] for index in range(len(requests))]

    async def _plans(
        self, contacts: list[Contact], now: datetime
    ) -> dict[str, list[Planned] | None]:
        """Each contact's plan re-read from the EHR (None when it failed), a few at a time."""
        gate = asyncio.Semaphore(PLAN_READS_AT_ONCE)

        async def read(contact: Contact) -> list[Planned] | None:
            async with gate:
                try:
                    return await plan_for_patient(
                        ehr=self.ehr,
                        patient_id=contact.patient_id,
                        patient_hash=contact.patient_hash,
                        zone=self.zone_of(contact),
                        config=self.config,
                        now=now,
                    )
                except EhrError as exc:
                    logger.warning("outreach: EHR unavailable (%s), retrying", type(exc).__name__)
                    return None

        plans = await asyncio.gather(*(read(contact) for contact in contacts))
        return {contact.patient_hash: plan for contact, plan in zip(contacts, plans, strict=True)}

    async def _dispatch_round(
        self, entries: list[tuple[int, Planned, Contact]], paused: frozenset[str], now: datetime
    ) -> dict[int, Outcome]:
        """Rules, claims, sends and outcomes of messages for distinct conversations."""
        outcomes: dict[int, Outcome] = {}
        # Held from the rules to the outcome, so two messages for the same patient cannot both
        # pass the frequency caps before either is claimed. Taken in one order: no deadlock.
        locks = [self._in_flight[cid] for cid in sorted({c.conversation_id for *_, c in entries})]
        for lock in locks:
            await lock.acquire()
        try:
            claimed: list[tuple[int, Planned, Conversation | None, OutreachOutbox]] = []
            with self.session_factory() as session:
                conversations = _conversations(session, [c.conversation_id for *_, c in entries])
                opted_out = self._opted_out(session, conversations)
                claimed_before = outbox.claimed_keys(
                    session=session, keys=(item.outbox_key for _, item, _ in entries)
                )
                passing: list[tuple[int, Planned, Contact]] = []
                for index, item, contact in entries:
                    conversation = conversations.get(contact.conversation_id)
                    decision = (
                        Outcome("skipped_already_sent")
                        if item.outbox_key in claimed_before
                        else self._check_rules(
                            session, item, contact, conversation, opted_out, paused, now
                        )
                    )
                    if decision is None:
                        passing.append((index, item, contact))
                    else:
                        outcomes[index] = decision
                rows = self._claim(session, passing, now)  # committed before anything leaves
            for (index, item, contact), row in zip(passing, rows, strict=True):
                if row is None:
                    outcomes[index] = Outcome("skipped_already_sent")
                else:
                    claimed.append((index, item, conversations.get(contact.conversation_id), row))
            gate = asyncio.Semaphore(self.sends_at_once)

            async def deliver(
                item: Planned, row: OutreachOutbox, conversation: Conversation | None
            ) -> tuple[str, list[Reply]]:
                channel = conversation.channel if conversation is not None else None
                async with gate:
                    return await self._deliver(
                        row.conversation_id, item.kind, item.entities, channel=channel
                    )

            results = await asyncio.gather(
                *(deliver(item, row, conversation) for _, item, conversation, row in claimed),
                return_exceptions=True,  # one message's surprise must not cost the others theirs
            )
            finished: list[tuple[int, str, Conversation | None, str, list[Reply]]] = []
            dying: BaseException | None = None
            for (index, item, conversation, row), result in zip(claimed, results, strict=True):
                if isinstance(result, BaseException):
                    # Whether it left is unknown: the claim stays `sending` and the next start
                    # settles it by what reached the provider.
                    logger.error("outreach %s failed: %s", item.job_id, type(result).__name__)
                    outcomes[index] = Outcome(UNSETTLED)
                    if not isinstance(result, Exception):
                        dying = result  # not an error to swallow (the process is stopping)
                    continue
                status, replies = result
                finished.append((row.id, row.conversation_id, conversation, status, replies))
                retry = now + FAILURE_RETRY if status == RETRYABLE else None
                outcomes[index] = Outcome("deferred" if retry else status, retry)
            self._settle(finished, now)
            if dying is not None:
                raise dying
            return outcomes
        finally:
            for lock in locks:
                lock.release()

    @staticmethod
    def _claim(
        session: Session, passing: list[tuple[int, Planned, Contact]], now: datetime
    ) -> list[OutreachOutbox | None]:
        """Claim every passing message in one commit; one by one if one was claimed before."""
        if not passing:
            return []
        claims = [(item, c.conversation_id, item.kind not in UNCAPPED) for _, item, c in passing]
        rows = outbox.claim_many(session=session, claims=claims, now=now)
        if rows is not None:
            return list(rows)
        return [
            outbox.claim(session=session, item=item, conversation_id=cid, capped=capped, now=now)
            for item, cid, capped in claims
        ]

    def _check_rules(
        self,
        session: Session,
        item: Planned,
        contact: Contact,
        conversation: Conversation | None,
        opted_out: set[str],
        paused: frozenset[str],
        now: datetime,
    ) -> Outcome | None:
        """None when the message may go now; otherwise why not, and until when."""
        if item.kind not in contact.consents:
            return Outcome("skipped_no_consent")
        if conversation is None or conversation.id in opted_out:
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

    def _opted_out(self, session: Session, conversations: dict[str, Conversation]) -> set[str]:
        """Which of these conversations are with a number that sent STOP (one query)."""
        by_phone: dict[str, str] = {}
        for conversation in conversations.values():
            if conversation.channel in PHONE_CHANNELS:
                phone = self.cipher.decrypt(conversation.address_ciphertext)
                by_phone[phone_hash(self.cipher, phone)] = conversation.id
        stopped = session.scalars(
            select(PhoneConsent.phone_hash).where(
                PhoneConsent.phone_hash.in_(sorted(by_phone)), PhoneConsent.opted_out.is_(True)
            )
        )
        return {by_phone[key] for key in stopped}

    def _settle(
        self,
        finished: list[tuple[int, str, Conversation | None, str, list[Reply]]],
        now: datetime,
    ) -> None:
        """Record what became of claims (row id, conversation id, conversation if loaded,
        status, words sent): the transcript lines of the sent messages, the statuses, and the
        claims given back (Rasa was down, nothing left), all in one commit."""
        with self.session_factory() as session:
            sent: list[tuple[Conversation, list[Reply]]] = []
            for _, conversation_id, conversation, status, replies in finished:
                if status == outbox.SENT and replies:
                    conversation = conversation or session.get(Conversation, conversation_id)
                    if conversation is not None:
                        sent.append((conversation, replies))
            add_outreach_lines(session=session, cipher=self.cipher, sent=sent)
            for row_id, _, _, status, _ in finished:
                if status == RETRYABLE:  # try again later
                    outbox.forget(session=session, row_id=row_id)
            outbox.mark_all_finished(
                session=session,
                statuses={
                    row_id: status for row_id, _, _, status, _ in finished if status != RETRYABLE
                },
                now=now,
            )
            session.commit()

    async def _deliver(
        self,
        conversation_id: str,
        kind: str,
        entities: dict[str, str],
        *,
        channel: str | None = None,
    ) -> tuple[str, list[Reply]]:
        """Ask Rasa for the words and send them; the outbox status to record and the words.

        `channel`, when the caller knows it, spares the lookup of the conversation's sender.
        """
        try:
            replies = await self.rasa.trigger_intent(conversation_id, intent_for(kind), entities)
        except AssistantUnavailable:
            logger.warning("outreach to %s: Rasa unavailable", conversation_id)
            return RETRYABLE, []
        if not replies:
            return "failed_no_words", []
        await self.pacer.wait()
        try:
            if channel in PHONE_CHANNELS and self.phone is not None:
                # what deliver_to_conversation picks for a phone conversation; PhoneOutbound
                # re-checks STOP and the WhatsApp 24-hour window itself
                count = await self.phone.deliver(
                    conversation_id=conversation_id, replies=replies, kind="outreach"
                )
            else:
                count = await deliver_to_conversation(
                    db=self.db,
                    phone=self.phone,
                    telegram=self.telegram,
                    conversation_id=conversation_id,
                    replies=replies,
                    kind="outreach",
                )
        except NoPushChannel:
            return "failed_no_channel", []
        except FreeTextRefused:
            return await self._template_instead(conversation_id, kind, entities)
        if count == 0:
            return "skipped_opted_out", []
        return outbox.SENT, replies

    async def _template_instead(
        self, conversation_id: str, kind: str, entities: dict[str, str]
    ) -> tuple[str, list[Reply]]:
        """WhatsApp more than 24 hours after the patient last wrote: only an approved template
        may go, the one configured for this kind (TWILIO_WHATSAPP_TEMPLATES). Its one variable
        is the appointment's time, never anything clinical; without a template nothing goes."""
        if self.phone is None:
            return "failed_whatsapp_window", []
        when = entities.get("appointment_time")
        try:
            count = await self.phone.deliver_template(
                conversation_id=conversation_id,
                template=kind,
                variables={"1": when} if when else {},
            )
        except UnknownTemplate:
            return "failed_whatsapp_window", []
        if count == 0:
            return "skipped_opted_out", []
        return outbox.SENT, [Reply(text=f"[WhatsApp template: {kind}]")]

    async def recover(self, *, now: datetime) -> list[str]:
        """After a restart: settle every message that was started but not finished.

        What reached a provider is marked sent and not sent again; the rest is sent now. The
        statuses recorded, one per interrupted message.
        """
        with self.session_factory() as session:
            pending = outbox.interrupted_claims(session=session)
            settled = {row.id: outbox.left_the_system(session=session, row=row) for row in pending}
        unsettled = [row for row in pending if not settled[row.id]]
        gate = asyncio.Semaphore(PROVIDER_QUESTIONS_AT_ONCE)

        async def ask(row: OutreachOutbox) -> bool:
            async with gate:
                return await self._provider_took(row)

        took = await asyncio.gather(*(ask(row) for row in unsettled))
        settled.update({row.id: found for row, found in zip(unsettled, took, strict=True)})
        statuses: list[str] = []
        for row in pending:
            replies: list[Reply] = []  # what reached a provider before the stop is not logged
            if settled[row.id]:
                status = outbox.SENT
            else:
                entities = await self._entities_for(row.job_id, row.patient_hash, now)
                status, replies = (
                    ("skipped_stale", [])
                    if entities is None
                    else await self._deliver(row.conversation_id, row.kind, entities)
                )
            # A released claim (Rasa down) is planned again by the next sync.
            self._settle([(row.id, row.conversation_id, None, status, replies)], now)
            statuses.append(status)
        return statuses

    async def _provider_took(self, row: OutreachOutbox) -> bool:
        """Whether the phone provider took this claim's message although nothing recorded it:
        the process died between the provider's answer and the delivery row. Asked only after
        a restart, for claims with no evidence either way. If the provider cannot be asked,
        the message is sent again (a reminder twice rather than none)."""
        if self.phone is None:
            return False
        took = await self.phone.took_unrecorded(
            conversation_id=row.conversation_id, since=as_utc(row.claimed_at)
        )
        return bool(took)

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


def _conversations(session: Session, ids: list[str]) -> dict[str, Conversation]:
    """These conversations by id, in one query."""
    found = session.scalars(select(Conversation).where(Conversation.id.in_(sorted(set(ids)))))
    return {conversation.id: conversation for conversation in found}
