"""Types shared by every channel: what arrives, what goes out, and the wire formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


class Button(TypedDict):
    """A choice offered to the patient; `payload` goes to Rasa, never typed by the patient."""

    title: str
    payload: str


@dataclass(frozen=True)
class InboundMessage:
    """A patient's message after the channel verified and parsed it.

    `address` is the channel's own address (phone number, chat id, web session token); the
    hub turns it into an opaque conversation id and never passes it on to Rasa.
    """

    channel: str
    address: str
    text: str
    provider_message_id: str | None = None
    choice_index: int | None = None  # a button picked by position (web chat, Telegram)
    attachments: int = 0  # photos or files sent with it (MMS, WhatsApp); only text is read


@dataclass(frozen=True)
class Reply:
    """One message to the patient, before channel rendering."""

    text: str
    buttons: list[Button] = field(default_factory=list)


class InvalidMessage(ValueError):
    """The inbound message cannot be accepted; `reason` says what to fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validate_text(text: str, *, max_chars: int) -> str:
    """The patient's text, trimmed; rejects empty and oversized messages with a reason."""
    trimmed = text.strip()
    if not trimmed:
        raise InvalidMessage("message is empty")
    if len(trimmed) > max_chars:
        raise InvalidMessage(
            f"message is too long ({len(trimmed)} characters, at most {max_chars})"
        )
    return trimmed


def pick_button(text: str, buttons: list[Button]) -> Button | None:
    """The offered button a text reply means: its number ("1") or its exact title."""
    answer = text.strip().rstrip(".").casefold()
    if answer.isdigit() and 1 <= int(answer) <= len(buttons):
        return buttons[int(answer) - 1]
    for button in buttons:
        if button["title"].strip().casefold() == answer:
            return button
    return None
