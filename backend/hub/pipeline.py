"""The path of one patient message through the hub (docs/architecture.md):

verify (the channel did) -> store -> red-flag screen -> Rasa -> store replies -> render.
A message without a provider id (nothing to deduplicate) is stored while Rasa works on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import Handoff, Message, utcnow
from backend.handoff.flow import HandoffFlow
from backend.handoff.service import open_handoff
from backend.handoff.states import ACTIVE_STATES, Priority, Reason, State
from backend.hub import transcript
from backend.hub.keywords import KeywordDesk
from backend.hub.rasa_gateway import AssistantUnavailable, RasaGateway
from backend.hub.safety import SafetyAlert, SafetyScreen
from backend.hub.sessions import wants_new_session
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


def as_plain_text(text: str) -> str:
    """Patient text with any leading slashes removed, so it can never inject an intent."""
    return _COMMAND_PREFIX.sub("", text).strip()


class Hub:
    """Handles inbound patient messages for every channel in the same way."""

    def __init__(
        self,
        *,
        engine: Engine,
        session_factory: sessionmaker[Session],
        cipher: Cipher,
        rasa: RasaGateway,
        safety_screen: SafetyScreen | None,
        max_message_chars: int,
        session_max_turns: int,
        keywords: KeywordDesk | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory
        self._cipher = cipher
        self._rasa = rasa
        self._screen = safety_screen
        self._max_chars = max_message_chars
        self._max_turns = session_max_turns
        self._keywords = keywords
        self.handoffs: HandoffFlow | None = None  # set by build_services

    async def handle(self, message: InboundMessage) -> HubResult:
        """Store, screen and answer one message. Raises InvalidMessage before storing anything
        unacceptable, and AssistantUnavailable (after storing the message) when Rasa is down."""
        # The path every message takes runs Core statements on one connection; the ORM
        # session is for the rarer paths (keywords, hand-offs, emergencies) and connects
        # only if one of them is taken.
        with self._engine.connect() as db, self._sessions() as session:
            turn = transcript.open_turn(
                db=db, cipher=self._cipher, channel=message.channel, address=message.address
            )
            conversation = turn.conversation
            shown_text, rasa_text = self._interpret(turn.offered, message)
            inbound = transcript.inbound_record(
                conversation=conversation, message=message, text=shown_text
            )
            # A message with a provider id may be a retried webhook: it is checked (by storing
            # it) before anything else happens. One without can be stored while Rasa answers.
            stored = message.provider_message_id is not None
            if stored and transcript.store_inbound(db, self._cipher, inbound) is None:
                return HubResult(conversation.id, [], duplicate=True)
            conversation = transcript.after_inbound(conversation, inbound)

            # Carrier keywords (STOP/START/HELP on phone channels) are the hub's to answer.
            keyword_replies = (
                self._keywords.answer(session=session, message=message) if self._keywords else None
            )
            alert = self._screen(shown_text) if self._screen and keyword_replies is None else None
            handoff = (
                session.get(Handoff, turn.latest_handoff_id)
                if turn.latest_handoff_id is not None
                else None
            )
            held = handoff is not None and handoff.state in ACTIVE_STATES
            to_rasa = keyword_replies is None and alert is None and not held
            if not stored and not (to_rasa and self._can_answer_while_storing(conversation)):
                transcript.store_inbound(db, self._cipher, inbound)
                stored = True
            pulled: list[Reply] = []
            if keyword_replies is not None:
                replies = keyword_replies
            elif alert is not None:
                replies = emergency_replies(alert)
                opened, created = escalate_emergency(
                    session=session,
                    cipher=self._cipher,
                    conversation_id=conversation.id,
                    alert=alert,
                    text=shown_text,
                )
                replies.append(Reply(text=CARE_TEAM_ALERTED))
                await self._interrupt_dialogue(conversation.id, replies, pause=not held)
                if self.handoffs is not None:
                    self.handoffs.opened(opened, created=created)
            elif held and handoff is not None:
                # A clinician has (or is about to have) the conversation: Rasa is not told.
                replies = self._while_held(session, handoff)
                pulled = pull_unread(session, self._cipher, conversation.id, handoff)
            else:
                if handoff is not None and handoff.state == State.RESOLVED:
                    await self._finish_resume(handoff.id)  # Rasa was down when it was resolved
                    session.refresh(handoff)
                pulled = (
                    pull_unread(session, self._cipher, conversation.id, handoff) if handoff else []
                )
                conversation = await self._keep_session_short(db, conversation)
                if stored:
                    replies = await self._rasa.send(conversation.id, rasa_text)
                else:
                    replies = await self._answer_while_storing(
                        db, inbound, conversation.id, rasa_text
                    )
                replies = replies or [Reply(text=NOT_UNDERSTOOD)]
            transcript.log_outbound(
                db=db, cipher=self._cipher, conversation=conversation, replies=replies
            )
            return HubResult(conversation.id, pulled + replies)

    def _can_answer_while_storing(self, conversation: transcript.ConversationState) -> bool:
        """Whether Rasa may be asked before the message is stored: not when this turn starts
        a new Rasa session, which rewrites the conversation's counters first."""
        return not wants_new_session(conversation.session_turns, self._max_turns)

    async def _answer_while_storing(
        self, db: Connection, inbound: transcript.InboundRecord, conversation_id: str, text: str
    ) -> list[Reply]:
        """Rasa's answer, with the message stored while Rasa works on it: the write then costs
        the patient no time. The message is kept even when Rasa turns out to be down."""
        sent = asyncio.Event()
        answering = asyncio.create_task(self._rasa.send(conversation_id, text, sent=sent))
        # The write blocks the loop, so it waits until the request has left (or failed).
        waiting = asyncio.create_task(sent.wait())
        await asyncio.wait({answering, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        try:
            transcript.store_inbound(db, self._cipher, inbound)
        except BaseException:
            # Not kept, so not answered: the patient gets an error and sends it again.
            answering.cancel()
            if answering.done() and not answering.cancelled():
                answering.exception()  # retrieved, so asyncio does not log it as lost
            raise
        return await answering

    def _while_held(self, session: Session, handoff: Handoff) -> list[Reply]:
        """The patient's message waits for the clinician; say so once while nobody holds it."""
        if self.handoffs is not None:
            self.handoffs.live.publish({"type": "message", "handoff_id": handoff.id})
        if handoff.state != State.WAITING or handoff.acknowledged_at is not None:
            return []
        handoff.acknowledged_at = utcnow()
        session.commit()
        return [Reply(text=WAITING_FOR_CLINICIAN)]

    async def _finish_resume(self, handoff_id: int) -> None:
        if self.handoffs is not None:
            await self.handoffs.finish_pending_resume(handoff_id)

    def _interpret(self, offered: list[Button], message: InboundMessage) -> tuple[str, str]:
        """(text for the transcript, text for Rasa): a picked button sends its payload."""
        if message.choice_index is not None:
            if not 0 <= message.choice_index < len(offered):
                raise InvalidMessage("that choice is no longer offered; please type your answer")
            chosen = offered[message.choice_index]
            return chosen["title"], chosen["payload"]
        text = validate_text(message.text, max_chars=self._max_chars)
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
        self, db: Connection, conversation: transcript.ConversationState
    ) -> transcript.ConversationState:
        if not wants_new_session(conversation.session_turns, self._max_turns):
            return conversation
        if not await self._rasa.is_idle(conversation.id):
            return conversation
        await self._rasa.start_new_session(conversation.id)
        return transcript.count_new_session(db, conversation)


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
