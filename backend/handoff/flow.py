"""What happens around a hand-off's state changes: Rasa, the patient's channel, the EHR, the
console's live stream. The states themselves change only in `service.py`.

- opened: the console hears of it; the EHR gets a Task (and a Flag when urgent) for a verified
  patient, in the background and best effort (an EHR that is down never blocks a hand-off).
- a clinician replies: the text goes in the transcript (author clinician), out on the
  patient's channel and into Rasa's history.
- resolved: Rasa is resumed (with the assistant's greeting when handed back), then the
  hand-off returns to the bot. If Rasa cannot be reached the hand-off stays `resolved`, and
  the hub finishes the job on the patient's next message (`finish_pending_resume`).

The database is used in short `DbWork` steps between the awaits (backend/db/work.py): no
connection is held while Rasa, the EHR or a provider answers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Conversation, Handoff, Message
from backend.db.work import DbWork
from backend.ehr import Ehr, EhrError
from backend.handoff import service
from backend.handoff.identity_labels import IdentityLabels
from backend.handoff.live import LiveHub
from backend.handoff.states import Priority, State
from backend.hub.outbound import PhoneOutbound
from backend.hub.rasa_gateway import AssistantUnavailable, RasaGateway
from backend.hub.senders import NoPushChannel, deliver_to_conversation
from backend.hub.telegram_outbound import TelegramOutbound
from backend.identity.access import VerifiedIdentity, verified_identity
from channels.base import Reply

logger = logging.getLogger(__name__)

HAND_BACK_GREETING = (
    "I'm the assistant again: the care team has finished here and handed the conversation "
    "back to me. Is there anything else I can help you with?"
)
# FHIR Task.priority for each hand-off priority (routine < urgent < asap < stat).
TASK_PRIORITY = {Priority.URGENT: "stat", Priority.HIGH: "asap", Priority.NORMAL: "routine"}


class NotDelivered(Exception):
    """The reply is in the transcript but the channel did not take it (opted out, WhatsApp
    window closed, provider refused)."""


@dataclass
class HandoffFlow:
    """The side effects of hand-offs; one per backend process (in `Services`)."""

    db: DbWork
    cipher: Cipher
    rasa: RasaGateway
    live: LiveHub
    ehr: Ehr | None = None
    phone: PhoneOutbound | None = None
    telegram: TelegramOutbound | None = None
    _background: set[asyncio.Task[bool]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.labels = IdentityLabels(self.ehr)

    # --- opening ----------------------------------------------------------------------------

    def opened(self, handoff: Handoff, *, created: bool) -> None:
        """Tell the console; for a new hand-off, write it to the EHR in the background."""
        self.live.publish({"type": "queue", "handoff_id": handoff.id})
        if created and self.ehr is not None:
            task = asyncio.get_running_loop().create_task(self.record_in_ehr(handoff.id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def record_in_ehr(self, handoff_id: int) -> bool:
        """A Task for the care team (and a Flag when urgent) on the verified patient's record.

        Best effort: False when there is no verified patient or the EHR failed (logged with the
        hand-off id only, never patient data).
        """
        if self.ehr is None:
            return False

        def read(session: Session) -> tuple[VerifiedIdentity | None, Priority, str]:
            handoff = service.get_handoff(session=session, handoff_id=handoff_id)
            identity = verified_identity(
                session=session, cipher=self.cipher, conversation_id=handoff.conversation_id
            )
            return identity, Priority(handoff.priority), handoff.reason

        identity, priority, reason = await self.db.run(read)
        if identity is None:
            logger.info("hand-off %s: no verified patient, nothing written to the EHR", handoff_id)
            return False
        description = f"Patient conversation escalated ({reason.replace('_', ' ')}): see console"
        try:
            await self.ehr.create_escalation_task(
                patient_id=identity.patient_id,
                description=description,
                priority=TASK_PRIORITY[priority],
            )
            if priority is Priority.URGENT:
                await self.ehr.create_flag(patient_id=identity.patient_id, text=description)
        except EhrError as exc:
            logger.warning("hand-off %s: EHR write failed (%s)", handoff_id, type(exc).__name__)
            return False
        return True

    async def drain(self) -> None:
        """Wait for background EHR writes (tests, shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # --- clinician replies ------------------------------------------------------------------

    async def reply(self, *, handoff_id: int, clinician_id: int, text: str) -> int:
        """Send a clinician's message; the count of messages the channel took.

        Raises service.NotHolder unless the clinician holds the conversation, and NotDelivered
        when it is logged but the channel refused it.
        """

        def log(session: Session) -> tuple[str, int]:
            handoff = service.get_handoff(session=session, handoff_id=handoff_id)
            if handoff.state != State.WITH_CLINICIAN or handoff.claimed_by != clinician_id:
                raise service.NotHolder(handoff_id, clinician_id, handoff.claimed_by)
            conversation_id = handoff.conversation_id
            return conversation_id, self._log(session, conversation_id, [text], author="clinician")

        conversation_id, first_id = await self.db.run(log)
        sent = await self._deliver(conversation_id, [text], kind="clinician", first_id=first_id)
        try:
            await self.rasa.record_bot_messages(conversation_id, [text], "clinician")
        except AssistantUnavailable:
            logger.warning("hand-off %s: clinician reply not added to Rasa's history", handoff_id)
        self.live.publish({"type": "message", "handoff_id": handoff_id})
        if sent == 0:
            raise NotDelivered(f"the patient's channel did not take the reply ({handoff_id})")
        return sent

    # --- resolving --------------------------------------------------------------------------

    async def resolve(self, *, handoff_id: int, clinician_id: int, hand_back: bool) -> Handoff:
        """Resolve (holder only), then give the conversation back to Rasa."""
        handoff = await self.db.run(
            lambda session: service.resolve(
                session=session,
                handoff_id=handoff_id,
                clinician_id=clinician_id,
                hand_back=hand_back,
            )
        )
        self.live.publish({"type": "queue", "handoff_id": handoff_id})
        return await self.finish_pending_resume(handoff_id) or handoff

    async def finish_pending_resume(self, handoff_id: int) -> Handoff | None:
        """Resume Rasa for a resolved hand-off and return it to the bot; None if Rasa is down.

        Handing back, the assistant greets the patient; closing, it stays quiet until the
        patient writes again.
        """
        handoff = await self.db.run(
            lambda session: service.get_handoff(session=session, handoff_id=handoff_id)
        )
        if handoff.state != State.RESOLVED:
            return handoff
        conversation_id, greet = handoff.conversation_id, handoff.outcome == "hand_back"
        said = [HAND_BACK_GREETING] if greet else []
        try:
            await self.rasa.resume(conversation_id, said)
        except AssistantUnavailable:
            logger.warning("hand-off %s: Rasa unreachable, resume left for later", handoff_id)
            return None
        handoff, first_id, finished_here = await self.db.run(
            partial(self._hand_back, handoff_id, conversation_id, said)
        )
        if said and finished_here:
            await self._deliver(conversation_id, said, kind="reply", first_id=first_id)
        return handoff

    # --- helpers ----------------------------------------------------------------------------

    def _hand_back(
        self, handoff_id: int, conversation_id: str, said: list[str], session: Session
    ) -> tuple[Handoff, int | None, bool]:
        """(hand-off, id of the first greeting line, whether this call returned it to the
        bot): when another request finished it first, that one sends the greeting."""
        try:
            handoff = service.hand_back(session=session, handoff_id=handoff_id)
        except service.InvalidTransition:
            return service.get_handoff(session=session, handoff_id=handoff_id), None, False
        first_id = self._log(session, conversation_id, said, author="bot") if said else None
        return handoff, first_id, True

    def _log(self, session: Session, conversation_id: str, texts: list[str], author: str) -> int:
        """Add outbound lines to the transcript; the id of the first."""
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise LookupError(f"no conversation {conversation_id}")
        rows = [
            Message(
                conversation_id=conversation_id,
                channel=conversation.channel,
                direction="out",
                author=author,
                text_ciphertext=self.cipher.encrypt(text),
            )
            for text in texts
        ]
        session.add_all(rows)
        session.commit()
        return rows[0].id

    async def _deliver(
        self, conversation_id: str, texts: list[str], *, kind: str, first_id: int | None
    ) -> int:
        try:
            return await deliver_to_conversation(
                db=self.db,
                phone=self.phone,
                telegram=self.telegram,
                conversation_id=conversation_id,
                replies=[Reply(text=t) for t in texts],
                kind=kind,
                live=self.live,
                first_message_id=first_id,
            )
        except NoPushChannel as exc:
            logger.warning("conversation on %s has no sender configured", exc.channel)
            return 0
        except Exception as exc:  # FreeTextRefused, provider errors: reported to the clinician
            logger.warning("delivery failed on %s: %s", conversation_id, type(exc).__name__)
            return 0
