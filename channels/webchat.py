"""The web chat widget's WebSocket frames (served by the hub at `/` and `/ws/chat`).

The browser keeps a random session token in sessionStorage: reloading the tab reconnects
to the same conversation, a new tab starts a new one. The token is the channel address.
"""

from __future__ import annotations

import secrets
from typing import Literal, NotRequired, TypedDict

from channels.base import Reply

CHANNEL = "web"


class ButtonFrame(TypedDict):
    title: str


class ChatEntry(TypedDict):
    """One line of the transcript as the widget shows it."""

    author: Literal["patient", "bot", "clinician", "system"]
    text: str
    at: str
    buttons: NotRequired[list[ButtonFrame]]


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def is_plausible_token(token: object) -> bool:
    return isinstance(token, str) and 20 <= len(token) <= 64 and token.isascii()


def reply_frames(replies: list[Reply], at: str) -> list[ChatEntry]:
    """Bot replies as transcript entries; button payloads stay on the server."""
    frames: list[ChatEntry] = []
    for reply in replies:
        entry = ChatEntry(author="bot", text=reply.text, at=at)
        if reply.buttons:
            entry["buttons"] = [ButtonFrame(title=b["title"]) for b in reply.buttons]
        frames.append(entry)
    return frames
