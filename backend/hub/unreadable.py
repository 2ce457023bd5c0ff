"""Phone messages the assistant cannot read: stored, answered, never sent to Rasa.

A photo sent with no text, or a text over MAX_MESSAGE_CHARS, used to be refused with a 422
that only Twilio saw: nothing was stored and the patient heard nothing. On SMS and WhatsApp
nothing else would ever tell the patient their message was not read, so the hub keeps it
(the care team sees it in the transcript) and says so on the patient's channel. The rest
of the path is unchanged: the red-flag screen still reads a long text, and a clinician who
holds the conversation still gets it; only Rasa, whose NLU is made for neither, does not.
"""

from __future__ import annotations

from enum import StrEnum

from backend.hub.keywords import PHONE_CHANNELS
from channels.base import InboundMessage, Reply


class Unreadable(StrEnum):
    """Why the assistant cannot read a message (kept with the stored message)."""

    ATTACHMENT = "attachment"  # photos or files with no text
    TOO_LONG = "too_long"  # more than MAX_MESSAGE_CHARS


# Channels whose unreadable messages are answered rather than refused: the provider shows
# the patient no error. REST and web chat clients see the refusal itself, and Telegram's
# route tells the patient the refusal's reason.
ANSWERED_CHANNELS = PHONE_CHANNELS

# Each fits one SMS segment (160 GSM-7 characters).
_IF_URGENT = "If this is an emergency, call the emergency number now."
REPLIES: dict[Unreadable, str] = {
    Unreadable.ATTACHMENT: (
        "Sorry, I can only read text, not photos or files. Please type your message instead. "
        f"{_IF_URGENT}"
    ),
    Unreadable.TOO_LONG: (
        "Sorry, your message was too long for me to read. Please send it again in shorter "
        f"parts. {_IF_URGENT}"
    ),
}


def why_unreadable(message: InboundMessage, *, max_chars: int) -> Unreadable | None:
    """Why the assistant cannot read `message`, on a channel that answers such messages;
    None when it can (or when the channel refuses the message instead)."""
    if message.channel not in ANSWERED_CHANNELS or message.choice_index is not None:
        return None
    text = message.text.strip()
    if not text and message.attachments > 0:
        return Unreadable.ATTACHMENT
    if len(text) > max_chars:
        return Unreadable.TOO_LONG
    return None


def logged_text(message: InboundMessage, why: Unreadable) -> str:
    """What the transcript keeps: a long text whole (a clinician can read it), a note in
    place of attachments (the hub does not fetch them)."""
    if why is Unreadable.TOO_LONG:
        return message.text.strip()
    count = message.attachments
    return f"[{count} attachment{'' if count == 1 else 's'} with no text, not opened]"


def reply_to(why: Unreadable) -> Reply:
    """What the patient is told instead of the assistant's answer."""
    return Reply(text=REPLIES[why])
