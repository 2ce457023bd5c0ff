"""The web chat widget's WebSocket frames (served by the hub at `/` and `/ws/chat`).

The server issues the session token: the widget's first frame is a `hello` carrying the token it
was given before (or none), and the server answers with a `session` frame naming the token to
keep. A token the server did not issue, or one that has expired, is never adopted: the tab gets
a fresh token and conversation, and `restarted` tells the widget so. The widget keeps its token
in sessionStorage: reloading the tab reconnects to the same conversation, a new tab starts a
new one. Browsers must open the socket from an allowed Origin (`is_allowed_origin`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Literal, NotRequired, TypedDict
from urllib.parse import urlsplit

from channels.base import Reply

CHANNEL = "web"
TOKEN_BYTES = 32  # 256 random bits: a token cannot be guessed, only stolen
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ButtonFrame(TypedDict):
    title: str


class ChatEntry(TypedDict):
    """One line of the transcript as the widget shows it."""

    author: Literal["patient", "bot", "clinician", "system"]
    text: str
    at: str
    buttons: NotRequired[list[ButtonFrame]]


class SessionFrame(TypedDict):
    """The server's answer to `hello`: the token to keep for this tab.

    `restarted` is true when the widget presented a token that is unknown or expired: its
    earlier conversation is not this one, and it should say so.
    """

    type: Literal["session"]
    token: str
    restarted: bool


def new_session_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def presented_token(hello: dict[str, object]) -> str | None:
    """The token a `hello` frame presents; None for a new tab. Any string counts as presented
    (and, unless the server issued it, earns a fresh session with `restarted` set)."""
    token = hello.get("token")
    return token if isinstance(token, str) and token else None


def normalize_origin(value: str) -> str:
    """An origin as browsers send it (`scheme://host[:port]`, default port left out).

    Raises ValueError for anything else (a path, a wildcard, another scheme), so that a
    mistyped WEBCHAT_ALLOWED_ORIGINS fails at start-up instead of refusing every patient.
    """
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "*" in value:
        raise ValueError(f"{value!r} is not an origin: write scheme://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} is not an origin: leave out the path")
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in an Origin header
        host = f"[{host}]"
    port = parts.port
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


def origin_of(url: str) -> str:
    """The origin of a URL that may have a path (PUBLIC_BASE_URL, BACKEND_URL)."""
    parts = urlsplit(url.strip())
    return normalize_origin(f"{parts.scheme}://{parts.netloc}")


def loopback_twins(origin: str) -> set[str]:
    """The origin as a browser on the same machine may name it: 127.0.0.1 and localhost."""
    parts = urlsplit(origin)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        return {origin}
    port = f":{parts.port}" if parts.port else ""
    return {f"{parts.scheme}://{host}{port}" for host in ("127.0.0.1", "localhost")}


def is_allowed_origin(origin: str | None, allowed: Iterable[str]) -> bool:
    """True when a browser's Origin header names one of the allowed origins.

    A missing Origin is refused too: every browser sends one on a WebSocket handshake, so only
    scripts omit it, and they can send any value they like (they must name an allowed origin).
    """
    if not origin:
        return False
    try:
        return normalize_origin(origin) in set(allowed)
    except ValueError:
        return False


def reply_frames(replies: list[Reply], at: str) -> list[ChatEntry]:
    """Bot replies as transcript entries; button payloads stay on the server."""
    frames: list[ChatEntry] = []
    for reply in replies:
        entry = ChatEntry(author="bot", text=reply.text, at=at)
        if reply.buttons:
            entry["buttons"] = [ButtonFrame(title=b["title"]) for b in reply.buttons]
        frames.append(entry)
    return frames
