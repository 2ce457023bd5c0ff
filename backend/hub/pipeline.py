"""The path of one patient message through the hub (docs/architecture.md):

verify (the channel did) -> store -> keywords -> red-flag screen -> hand-off hold -> Rasa ->
store replies -> render. REST and web chat messages are answered in the request; phone
messages are stored and acknowledged (`accept`), then answered by a queue worker
(`answer_stored`). Either way a turn holds its conversation's lock and a slot of the turn
gate, and uses the database only in short steps off the event loop (docs/concurrency.md).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Handoff, Message, utcnow
from backend.db.work import DbWork
from backend.handoff.flow import HandoffFlow
from backend.handoff.service import open_handoff
from backend.handoff.states import ACTIVE_STATES, Priority, Reason, State
from backend.hub import transcript
from backend.hub.admission import TurnGate
from backend.hub.conversation_locks import ConversationLocks
from backend.hub.keywords import KeywordDesk
from backend.hub.rasa_gateway import AssistantUnavailable, RasaGateway
from backend.hub.safety import SafetyAlert, SafetyScreen
from backend.hub.sessions import wants_new_session
from backend.hub.unreadable import Unreadable, logged_text, reply_to, why_unreadable
from channels.base import (
    Button,
    InboundMessage,
    InvalidMessage,
    Reply,
    pick_button,
    validate_text,
)

logger = logging.getLogger(__name__)
# Rasa reads a leading "/" as an intent or command ("/restart"); patients only send text.
_COMMAND_PREFIX = re.compile(r"^[\s/]+")
# Said when Rasa answers nothing (a message with no words, say): a patient is never met with
# silence, and is always told how to reach a person.
NOT_UNDERSTOOD = (
    "Sorry, I didn't catch that. I can help with appointments, symptoms, test results and "
    "prescriptions, or put you in touch with the care team: just ask for a person."
)
# Channels whose patients answer buttons by typing the option's number or title.
TEXT_CHOICE_CHANNELS = frozenset({"rest", "sms", "whatsapp"})


@dataclass(frozen=True)
class HubResult:
    conversation_id: str
    replies: list[Reply]
    duplicate: bool = False


@dataclass(frozen=True)
class Accepted:
    """A phone message stored for a queue worker to answer (`duplicate`: stored before)."""

    conversation_id: str
    message_id: int
    duplicate: bool = False
    handled: bool = False


@dataclass(frozen=True)
class Arrival:
    """What the first database step of a turn read, stored and decided.

    `answered` is set when the turn ended there (a carrier keyword, a conversation a
    clinician holds, an emergency); otherwise Rasa is to be asked for `assistant_text`.
    """

    conversation: transcript.ConversationState
    message_id: int | None  # None: a duplicate provider message id
    assistant_text: str = ""
    answered: list[Reply] | None = None
    emergency: tuple[Handoff, bool] | None = None  # (hand-off, created) for a red flag
    held: bool = False  # a clinician had the conversation before this message
    resume_handoff_id: int | None = None  # a resolved hand-off whose resume Rasa missed
    pulled: list[Reply] = field(default_factory=list)
    queued: bool = False  # a phone message answered from the turn queue
    sent_before: datetime | None = None  # an earlier try sent it to Rasa at this time
    advice: list[Reply] = field(default_factory=list)  # said after the assistant's answer


@dataclass(frozen=True)
class _Stored:
    record: transcript.InboundRecord
    assistant_text: str
    message_id: int | None
    unreadable: Unreadable | None = None


def as_plain_text(text: str) -> str:
    """Patient text with any leading slashes removed, so it can never inject an intent."""
    return _COMMAND_PREFIX.sub("", text).strip()


class Hub:
    """Handles inbound patient messages for every channel in the same way.

    A turn holds its conversation's lock and a slot of the turn gate from start to end; it
    uses the database only in short steps run by `DbWork` (worker threads, a session each),
    never across the wait on Rasa.
    """

    def __init__(
        self,
        *,
        db: DbWork,
        cipher: Cipher,
        rasa: RasaGateway,
        safety_screen: SafetyScreen | None,
        max_message_chars: int,
        session_max_turns: int,
        gate: TurnGate,
        locks: ConversationLocks,
        keywords: KeywordDesk | None = None,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._rasa = rasa
        self._screen = safety_screen
        self._screening = threading.Lock()  # spaCy pipelines are not made for threads
        self._max_chars = max_message_chars
        self._max_turns = session_max_turns
        self._keywords = keywords
        self.gate = gate
        self._locks = locks
        self.handoffs: HandoffFlow | None = None  # set by build_services

    @property
    def pipeline_lock(self) -> threading.Lock:
        """Held while the symptom pipeline runs (the screen here, triage in its route)."""
        return self._screening

    @property
    def cipher(self) -> Cipher:
        return self._cipher

    @property
    def busy(self) -> bool:
        """True when a new turn would wait for a slot (the web chat says so)."""
        return self.gate.full

    async def handle(self, message: InboundMessage, *, patient_waits: bool = False) -> HubResult:
        """Store, screen and answer one message. Raises InvalidMessage before storing anything
        unacceptable, Busy (nothing stored) past the turn gate's bound unless the patient
        waits (a web chat socket), and AssistantUnavailable (after storing the message) when
        Rasa is down."""
        key = self._cipher.address_hash(message.channel, message.address)
        async with self._locks.hold(key), self.gate.turn(bounded_wait=not patient_waits):
            arrival = await self._db.run(partial(self._arrive, message))
            return await self._respond(arrival)

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store a phone message for a queue worker to answer (`answer_stored`); nothing else.

        Raises InvalidMessage before storing anything unacceptable. A provider message id seen
        before is a duplicate (a retried webhook)."""
        return await self._db.run(partial(self._store_only, message))

    async def answer_stored(self, message_id: int) -> AsyncIterator[HubResult]:
        """Answer a message `accept` stored, and first any earlier one of its conversation
        still unanswered, in arrival order: one result per message, each to be sent before
        the next is answered (the conversation stays locked meanwhile). A message already
        answered (a retried job whose worker died after answering) gets no new answer."""
        found = await self._db.run(
            lambda session: transcript.stored_inbound(session, self._cipher, message_id)
        )
        if found is None:
            raise LookupError(f"no patient message {message_id}")
        async with self._locks.hold(found.address_hash), self.gate.turn(bounded_wait=False):
            pending = await self._db.run(
                lambda session: transcript.unanswered_up_to(
                    session, found.conversation_id, message_id
                )
            )
            for pending_id in pending:
                arrival = await self._db.run(partial(self._arrive_stored, pending_id))
                yield await self._respond(arrival)

    # --- the first database step (a worker thread) ---------------------------------------

    def _arrive(self, message: InboundMessage, session: Session) -> Arrival:
        turn, stored = self._store(message, session)
        conversation = transcript.after_inbound(turn.conversation, stored.record)
        if stored.message_id is None:  # a retried webhook: answered (or queued) the first time
            return Arrival(conversation, None, answered=[])
        return self._decide(
            session,
            message,
            conversation,
            stored.message_id,
            stored.record.text,
            stored.assistant_text,
            turn,
            stored.unreadable,
        )

    def _store_only(self, message: InboundMessage, session: Session) -> Accepted:
        turn, stored = self._store(message, session)
        if stored.message_id is not None:
            return Accepted(turn.conversation.id, stored.message_id)
        existing = transcript.find_provider_message(
            session, channel=message.channel, provider_message_id=message.provider_message_id
        )
        return Accepted(turn.conversation.id, existing[0], duplicate=True, handled=existing[1])

    def _store(self, message: InboundMessage, session: Session) -> tuple[transcript.Turn, _Stored]:
        """Read the conversation, interpret the message against the buttons it was offered
        (InvalidMessage before anything is stored) and store it; its id is None when the
        provider delivered this message id before. A phone message the assistant cannot
        read is stored as it came, marked, rather than refused (backend/hub/unreadable.py)."""
        turn = transcript.open_turn(
            db=session, cipher=self._cipher, channel=message.channel, address=message.address
        )
        why = why_unreadable(message, max_chars=self._max_chars)
        if why is None:
            shown_text, assistant_text = self._interpret(turn.offered, message)
        else:
            shown_text = assistant_text = logged_text(message, why)
        record = transcript.inbound_record(
            conversation=turn.conversation,
            message=message,
            text=shown_text,
            assistant_text=assistant_text,
            unreadable=why,
        )
        message_id = transcript.store_inbound(session, self._cipher, record)
        return turn, _Stored(record, assistant_text, message_id, why)

    def _arrive_stored(self, message_id: int, session: Session) -> Arrival:
        found = transcript.stored_inbound(session, self._cipher, message_id)
        if found is None:
            raise LookupError(f"no patient message {message_id}")
        turn = transcript.open_conversation(session, found.conversation_id)
        if found.handled:
            return Arrival(turn.conversation, None, answered=[])
        message = InboundMessage(turn.conversation.channel, found.address, found.text)
        arrival = self._decide(
            session,
            message,
            turn.conversation,
            message_id,
            found.text,
            found.assistant_text,
            turn,
            Unreadable(found.unreadable) if found.unreadable else None,
        )
        return replace(arrival, queued=True, sent_before=found.sent_to_assistant_at)

    def _decide(
        self,
        session: Session,
        message: InboundMessage,
        conversation: transcript.ConversationState,
        message_id: int,
        shown_text: str,
        assistant_text: str,
        turn: transcript.Turn,
        unreadable: Unreadable | None,
    ) -> Arrival:
        """Keywords, the red-flag screen, a clinician's hold and a message the assistant
        cannot read, in that order; the turns that end here are logged (and marked answered)
        in this same step."""
        # Carrier keywords (STOP/START/HELP on phone channels) are the hub's to answer.
        keyword_replies = (
            self._keywords.answer(session=session, message=message) if self._keywords else None
        )
        if keyword_replies is not None:
            return self._answered(session, conversation, message_id, keyword_replies)
        alert = self._screened(shown_text)
        advice = [] if alert is None or alert.emergency else [Reply(text=alert.safety_net)]
        alert = alert if alert is not None and alert.emergency else None
        handoff = (
            session.get(Handoff, turn.latest_handoff_id)
            if turn.latest_handoff_id is not None
            else None
        )
        held = handoff is not None and handoff.state in ACTIVE_STATES
        if alert is not None:
            emergency = escalate_emergency(
                session=session,
                cipher=self._cipher,
                conversation_id=conversation.id,
                alert=alert,
                text=shown_text,
            )
            replies = [*emergency_replies(alert), Reply(text=CARE_TEAM_ALERTED)]
            arrival = self._answered(session, conversation, message_id, replies)
            return replace(arrival, emergency=emergency, held=held)
        if held and handoff is not None:
            # A clinician has (or is about to have) the conversation: Rasa is not told.
            replies = self._while_held(session, handoff)
            pulled = pull_unread(session, self._cipher, conversation.id, handoff)
            arrival = self._answered(session, conversation, message_id, replies)
            return replace(arrival, pulled=pulled)
        if unreadable is not None:
            # Not for Rasa: the patient is told why, and the care team sees it in the log.
            replies = [reply_to(unreadable), *advice]
            return self._answered(session, conversation, message_id, replies)
        if handoff is not None and handoff.state == State.RESOLVED:
            # Rasa was down when it was resolved: resume it before this message.
            return Arrival(
                conversation,
                message_id,
                assistant_text,
                resume_handoff_id=handoff.id,
                advice=advice,
            )
        pulled = pull_unread(session, self._cipher, conversation.id, handoff) if handoff else []
        return Arrival(conversation, message_id, assistant_text, pulled=pulled, advice=advice)

    def _answered(
        self,
        session: Session,
        conversation: transcript.ConversationState,
        message_id: int,
        replies: list[Reply],
    ) -> Arrival:
        transcript.log_outbound(
            db=session,
            cipher=self._cipher,
            conversation=conversation,
            replies=replies,
            answering=message_id,
        )
        return Arrival(conversation, message_id, answered=replies)

    def _screened(self, text: str) -> SafetyAlert | None:
        if self._screen is None:
            return None
        with self._screening:
            return self._screen(text)

    # --- after the first step (the event loop) -------------------------------------------

    async def _respond(self, arrival: Arrival) -> HubResult:
        conversation = arrival.conversation
        if arrival.message_id is None:
            return HubResult(conversation.id, [], duplicate=True)
        if arrival.emergency is not None and arrival.answered is not None:
            handoff, created = arrival.emergency
            await self._interrupt_dialogue(
                conversation.id, arrival.answered, pause=not arrival.held
            )
            if self.handoffs is not None:
                self.handoffs.opened(handoff, created=created)
            return HubResult(conversation.id, arrival.answered)
        if arrival.answered is not None:
            return HubResult(conversation.id, arrival.pulled + arrival.answered)
        pulled = arrival.pulled
        if arrival.resume_handoff_id is not None:
            pulled = await self._resume(conversation.id, arrival.resume_handoff_id)
        conversation = await self._keep_session_short(conversation)
        replies = await self._ask_assistant(arrival, conversation.id)
        replies = (replies or [Reply(text=NOT_UNDERSTOOD)]) + arrival.advice
        await self._db.run(
            partial(
                _log_answer,
                cipher=self._cipher,
                conversation=conversation,
                replies=replies,
                message_id=arrival.message_id,
            )
        )
        return HubResult(conversation.id, pulled + replies)

    async def _ask_assistant(self, arrival: Arrival, conversation_id: str) -> list[Reply]:
        """Rasa's answer. A queued turn records that it asked; if an earlier try asked (its
        worker died before logging the answer), Rasa's answer then is taken from its
        tracker rather than asking again, so Rasa processes the message once."""
        message_id = arrival.message_id
        if arrival.sent_before is not None:
            earlier = await self._rasa.replies_since(
                conversation_id, arrival.assistant_text, arrival.sent_before
            )
            if earlier is not None:
                return earlier
        if arrival.queued and message_id is not None:
            await self._db.run(
                lambda session: transcript.mark_sent_to_assistant(session, message_id)
            )
        return await self._rasa.send(conversation_id, arrival.assistant_text)

    async def _resume(self, conversation_id: str, handoff_id: int) -> list[Reply]:
        if self.handoffs is not None:
            await self.handoffs.finish_pending_resume(handoff_id)

        def pull(session: Session) -> list[Reply]:
            handoff = session.get(Handoff, handoff_id)
            return pull_unread(session, self._cipher, conversation_id, handoff) if handoff else []

        return await self._db.run(pull)

    def _while_held(self, session: Session, handoff: Handoff) -> list[Reply]:
        """The patient's message waits for the clinician; say so once while nobody holds it."""
        if self.handoffs is not None:  # thread-safe: the console's streams are told
            self.handoffs.live.publish({"type": "message", "handoff_id": handoff.id})
        if handoff.state != State.WAITING or handoff.acknowledged_at is not None:
            return []
        handoff.acknowledged_at = utcnow()
        session.commit()
        return [Reply(text=WAITING_FOR_CLINICIAN)]

    def _interpret(self, offered: list[Button], message: InboundMessage) -> tuple[str, str]:
        """(text for the transcript, text for Rasa): a picked button sends its payload."""
        if message.choice_index is not None:
            if not 0 <= message.choice_index < len(offered):
                raise InvalidMessage("that choice is no longer offered; please type your answer")
            chosen = offered[message.choice_index]
            return chosen["title"], chosen["payload"]
        text = validate_text(message.text, max_chars=self._max_chars)
        # A client that answers a button with its payload ("/affirm"), as Rasa's own widgets
        # do, chose that button; any other slash command stays plain text (as_plain_text).
        by_payload = next((b for b in offered if b["payload"] == text.strip()), None)
        if by_payload is not None:
            return by_payload["title"], by_payload["payload"]
        if message.channel in TEXT_CHOICE_CHANNELS and offered:
            button = pick_button(text, offered)
            if button is not None:
                return text, button["payload"]
        plain = as_plain_text(text)
        if not plain:
            raise InvalidMessage("message has no text")
        return text, plain

    async def _interrupt_dialogue(
        self, conversation_id: str, replies: list[Reply], *, pause: bool
    ) -> None:
        """Tell Rasa an emergency interrupted the dialogue and, unless a clinician already had
        it, pause it for the hand-off; the guidance goes out regardless."""
        try:
            await self._rasa.interrupt_for_emergency(conversation_id, [r.text for r in replies])
            if pause:
                await self._rasa.pause(conversation_id)
        except AssistantUnavailable:
            logger.warning("Rasa unreachable while recording an emergency in %s", conversation_id)

    async def _keep_session_short(
        self, conversation: transcript.ConversationState
    ) -> transcript.ConversationState:
        if not wants_new_session(conversation.session_turns, self._max_turns):
            return conversation
        if not await self._rasa.is_idle(conversation.id):
            return conversation
        await self._rasa.start_new_session(conversation.id)
        return await self._db.run(
            lambda session: transcript.count_new_session(session, conversation)
        )


def _log_answer(
    session: Session,
    *,
    cipher: Cipher,
    conversation: transcript.ConversationState,
    replies: list[Reply],
    message_id: int,
) -> None:
    transcript.log_outbound(
        db=session, cipher=cipher, conversation=conversation, replies=replies, answering=message_id
    )


CARE_TEAM_ALERTED = (
    "I have also alerted the clinic's care team, so a clinician will see this conversation. "
    "Do not wait for them: follow the advice above now."
)


# Said once when a patient writes while waiting for a clinician (nobody holds it yet).
WAITING_FOR_CLINICIAN = (
    "This is the clinic's automated assistant: your message has been passed to the care team "
    "and a clinician will reply here as soon as they can, so you don't need to send it again. "
    "If things get worse while you wait, call the emergency number or go to the nearest "
    "emergency department."
)


def pull_unread(
    session: Session, cipher: Cipher, conversation_id: str, handoff: Handoff
) -> list[Reply]:
    """Messages sent to a REST patient unprompted (a clinician's, the hand-back greeting),
    handed over with this answer: the REST channel has no way to call the patient."""
    if handoff.patient_unread_from is None:
        return []
    rows = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "out",
            Message.id >= handoff.patient_unread_from,
        )
        .order_by(Message.id)
    ).all()
    handoff.patient_unread_from = None
    session.commit()
    return [Reply(text=cipher.decrypt(row.text_ciphertext)) for row in rows]


def escalate_emergency(
    *, session: Session, cipher: Cipher, conversation_id: str, alert: SafetyAlert, text: str
) -> tuple[Handoff, bool]:
    """Put the conversation at the top of the clinicians' queue (urgent priority)."""
    return open_handoff(
        session=session,
        cipher=cipher,
        conversation_id=conversation_id,
        reason=Reason.EMERGENCY,
        priority=Priority.URGENT,
        summary={
            "level": alert.level,
            "rule_ids": list(alert.rule_ids),
            "explanation": alert.explanation,
            "message": text,
        },
    )


def emergency_replies(alert: SafetyAlert) -> list[Reply]:
    """Emergency guidance first, then why: never self-care advice for an emergency."""
    return [Reply(text=alert.safety_net), Reply(text=alert.explanation)]
