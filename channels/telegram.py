"""Telegram (Bot API webhooks): verify the secret token, parse updates, render inline keyboards.

Telegram sends the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; an
update is looked at only once that matches. Text messages and button presses reach the hub;
anything else (stickers, photos, edits, joins) gets a polite answer instead of a crash.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, TypedDict

from channels.base import Reply

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHOICE_PREFIX = "choice:"
UNSUPPORTED_TEXT = (
    "Sorry, I can only read text messages. Please type your question, or tap one of the "
    "buttons I sent."
)
PRIVATE_ONLY_TEXT = (
    "For your privacy I only talk with one person at a time. Please message me in a private "
    "chat, not in a group."
)


class MalformedUpdate(ValueError):
    """The (authentic) update is not a Telegram update the hub can read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InlineButton(TypedDict):
    """One inline keyboard button as the Bot API takes it."""

    text: str
    callback_data: str


@dataclass(frozen=True)
class ParsedUpdate:
    """What the hub needs from an update. `chat_id` None: nobody to answer (e.g. a poll)."""

    update_id: int
    chat_id: int | None
    text: str | None = None
    choice_index: int | None = None
    callback_query_id: str | None = None
    private: bool = True  # False for groups and channels: one verified session per person

    @property
    def supported(self) -> bool:
        """True for a text message or a button press; anything else gets a polite answer."""
        return self.chat_id is not None and (self.text is not None or self.choice_index is not None)


def is_authentic(*, expected: str, received: str | None) -> bool:
    """True only when a secret is configured and the header carries exactly that secret."""
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


def parse_update(data: Any) -> ParsedUpdate:
    """The update's id, chat, and its text or picked button. Raises MalformedUpdate."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise MalformedUpdate("an update is a JSON object with an integer update_id")
    update_id: int = data["update_id"]
    callback = data.get("callback_query")
    if isinstance(callback, dict):
        chat_id = _chat_id(callback.get("message"))
        choice = _choice(callback.get("data"))
        return ParsedUpdate(
            update_id,
            chat_id,
            choice_index=choice,
            callback_query_id=str(callback.get("id", "")) or None,
            private=_is_private(callback.get("message")),
        )
    message = data.get("message")
    if isinstance(message, dict):
        text = message.get("text")
        return ParsedUpdate(
            update_id,
            _chat_id(message),
            text=text if isinstance(text, str) else None,
            private=_is_private(message),
        )
    for kind in ("edited_message", "channel_post", "my_chat_member", "chat_member"):
        if isinstance(data.get(kind), dict):
            return ParsedUpdate(update_id, _chat_id(data[kind]), private=_is_private(data[kind]))
    return ParsedUpdate(update_id, None)


def inline_keyboard(reply: Reply) -> list[list[InlineButton]]:
    """The reply's buttons as one-per-row inline keyboard buttons carrying their position."""
    return [
        [InlineButton(text=button["title"], callback_data=f"{CHOICE_PREFIX}{index}")]
        for index, button in enumerate(reply.buttons)
    ]


def _chat_id(message: Any) -> int | None:
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return chat_id if isinstance(chat_id, int) else None


def _is_private(message: Any) -> bool:
    """Only a private chat is one person; a group's members would share one conversation
    (and one verified session), so groups, supergroups and channels are refused."""
    chat = message.get("chat") if isinstance(message, dict) else None
    return isinstance(chat, dict) and chat.get("type") == "private"


def _choice(data: Any) -> int | None:
    if not isinstance(data, str) or not data.startswith(CHOICE_PREFIX):
        return None
    digits = data[len(CHOICE_PREFIX) :]
    return int(digits) if digits.isdigit() and len(digits) <= 3 else None
