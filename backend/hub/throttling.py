"""What happens to a patient message over its rate limit (backend/hub/rate_limits.py).

Two things are never held back, on any channel: a message the red-flag screen flags (an
emergency, or the advice for one) and, on SMS and WhatsApp, a carrier keyword (STOP must
always work). Those take the whole hub path as if no limit existed; only ordinary messages
are throttled, each channel in its own way:

- REST: 429 with Retry-After, nothing stored; the script sends it again later.
- Web chat: a "slow down" frame, nothing stored; the patient sees it and sends it again.
- SMS, WhatsApp, Telegram (`accept_phone`): the patient has no error to read and the
  provider must get its 2xx (or it retries), so the message is stored (the care team sees
  it in the transcript) and marked answered, but not sent to Rasa: a burst of thirty texts
  costs thirty rows, not thirty turns. The first one in a window is answered once with
  `PHONE_SLOW_DOWN`, asking the patient to wait and send their question again; the rest of
  the burst gets no reply, so the hub never floods a patient back. In a conversation a
  clinician holds, the held-back messages are in the transcript the console shows, but the
  console's live stream is not told of them (the next message within the limit tells it).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from backend.core.crypto import Cipher
from backend.db.work import DbWork
from backend.hub import transcript
from backend.hub.keywords import PHONE_CHANNELS, classify
from backend.hub.phone_turns import Deliver, PhoneTurns
from backend.hub.pipeline import Accepted, Hub
from backend.hub.rate_limits import RateLimits
from channels.base import InboundMessage, Reply

logger = logging.getLogger(__name__)


def phone_slow_down(emergency_number: str) -> str:
    """Said once per window to a phone patient over the limit (one SMS segment, 160
    characters, with a 3- or 4-digit emergency number)."""
    return (
        "You're sending messages very fast. All are saved; please wait a minute, then send "
        f"your question again in one message. If this is an emergency, call {emergency_number} "
        "now."
    )


def chat_slow_down(retry_after_s: int, emergency_number: str) -> str:
    """The web chat's "slow down" frame text."""
    return (
        "You're sending messages faster than I can read them. Please wait "
        f"{retry_after_s} seconds, then send your message again. If this is an emergency, "
        f"call {emergency_number} now."
    )


async def never_throttled(hub: Hub, message: InboundMessage) -> bool:
    """True for a message no limit may hold back: a carrier keyword on a phone channel, or
    text the red-flag screen flags. The screen is the hub's own (the one every turn runs,
    under its lock), run off the event loop."""
    if message.channel in PHONE_CHANNELS and classify(message.text) is not None:
        return True
    if not message.text.strip():
        return False
    # Hub._screened is the only way to the screen the hub was built with (backend/services.py
    # does not keep it); a second screen built here could disagree with the turn's.
    alert = await asyncio.to_thread(hub._screened, message.text)
    return alert is not None


async def accept_phone(
    message: InboundMessage,
    *,
    hub: Hub,
    turns: PhoneTurns,
    limits: RateLimits,
    db: DbWork,
    deliver: Deliver,
    emergency_number: str,
) -> Accepted:
    """Store a phone message and queue its turn, or, over the limit, store it answered by
    at most one "slow down" notice (see the module's docstring). Raises InvalidMessage as
    `PhoneTurns.accept` does."""
    address_key = hub.cipher.address_hash(message.channel, message.address)
    if await limits.admit(address_key=address_key) is None or await never_throttled(hub, message):
        return await turns.accept(message)
    accepted = await hub.accept(message)  # stored, not queued
    if accepted.duplicate:  # a retried webhook: queued again only if never answered
        return await turns.accept(message)
    notify = await limits.first_notice(address_key)
    replies = [Reply(text=phone_slow_down(emergency_number))] if notify else []
    await db.run(
        partial(
            _answer_without_assistant,
            cipher=hub.cipher,
            message_id=accepted.message_id,
            conversation_id=accepted.conversation_id,
            replies=replies,
        )
    )
    if replies:
        try:
            await deliver(accepted.conversation_id, replies)
        except Exception:  # logged and kept; the provider still gets its 2xx
            logger.warning(
                "slow-down notice not sent in conversation %s",
                accepted.conversation_id,
                exc_info=True,
            )
    return accepted


def _answer_without_assistant(
    session: transcript.Database,
    *,
    cipher: Cipher,
    message_id: int,
    conversation_id: str,
    replies: list[Reply],
) -> None:
    """Mark the throttled message answered (so no queue worker or restart sends it to Rasa)
    and log the notice, if any, in one transaction."""
    conversation = transcript.open_conversation(session, conversation_id).conversation
    transcript.log_outbound(
        db=session, cipher=cipher, conversation=conversation, replies=replies, answering=message_id
    )
