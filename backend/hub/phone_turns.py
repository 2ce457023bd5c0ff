"""Phone messages: stored and acknowledged at once, answered by the turn queue.

The webhook routes (Twilio SMS/WhatsApp, Telegram) call `accept`; the queue calls back
`answer`, which runs the hub's turn for the stored message and hands the replies to the
conversation's channel sender (backend/hub/senders.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from backend.db.work import DbWork
from backend.hub import transcript
from backend.hub.pipeline import Accepted, Hub, HubResult
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.hub.turn_queue import TurnQueue, unanswered_phone_messages
from channels.base import InboundMessage, Reply

logger = logging.getLogger(__name__)

# Said when Rasa stayed down through every try of a queued turn.
UNAVAILABLE = (
    "Sorry, the assistant is unavailable right now. Your message was kept; please try again "
    "in a few minutes. If this is an emergency, call the emergency number now."
)


# Sends replies on a conversation's own channel (senders.deliver_to_conversation).
Deliver = Callable[[str, list[Reply]], Awaitable[int]]


class PhoneTurns:
    """Accepts phone messages into the queue and answers them from it."""

    def __init__(self, *, hub: Hub, queue: TurnQueue, db: DbWork, deliver: Deliver) -> None:
        self._hub = hub
        self._queue = queue
        self._db = db
        self._deliver = deliver

    async def start(self) -> int:
        """Run queued turns, and queue again what was stored but never answered (a crash, a
        restart); how many were queued again."""
        await self._queue.start(self.answer)
        unanswered = await self._db.run(unanswered_phone_messages)
        for message_id in unanswered:
            await self._queue.enqueue(message_id)
        if unanswered:
            logger.info("queued %d stored phone messages that were never answered", len(unanswered))
        return len(unanswered)

    async def stop(self) -> None:
        await self._queue.stop()

    async def settle(self) -> None:
        """Wait until every queued turn has been answered (tests)."""
        await self._queue.settle()

    async def accept(self, message: InboundMessage) -> Accepted:
        """Store the message and queue its turn (a retried webhook's turn is queued again only
        if it was never answered; the queue drops a turn it already has)."""
        accepted = await self._hub.accept(message)
        if not accepted.handled:
            await self._queue.enqueue(accepted.message_id)
        return accepted

    async def answer(self, message_id: int, last_try: bool) -> None:
        """The turn of a stored message, its replies sent; raises AssistantUnavailable for the
        queue to try again later, except on the last try, when the patient is told."""
        try:
            async for result in self._hub.answer_stored(message_id):
                if result.replies:
                    await self._deliver(result.conversation_id, result.replies)
        except AssistantUnavailable:
            if not last_try:
                raise
            given_up = await self._give_up(message_id)
            await self._deliver(given_up.conversation_id, given_up.replies)

    async def _give_up(self, message_id: int) -> HubResult:
        replies = [Reply(text=UNAVAILABLE)]

        def log(session: transcript.Database) -> str:
            found = transcript.stored_inbound(session, self._hub.cipher, message_id)
            if found is None:
                raise LookupError(f"no patient message {message_id}")
            turn = transcript.open_conversation(session, found.conversation_id)
            transcript.log_outbound(
                db=session,
                cipher=self._hub.cipher,
                conversation=turn.conversation,
                replies=replies,
                answering=message_id,
            )
            return found.conversation_id

        conversation_id = await self._db.run(log)
        return HubResult(conversation_id, replies)
