"""The plain REST channel (`POST /channels/rest/webhook`) for scripts and tests.

It goes through the same hub path as every other channel; replies come back as JSON instead
of being sent. It is off unless clients are configured (REST_CLIENTS), and each client
proves itself with its own API key (`Authorization: Bearer <key>`). The configuration holds
only the SHA-256 of each key: the keys are random (`new_client`), so a plain digest is as
good as a keyed one, and a leaked `.env` lets nobody in.

The conversation address is the client's id and the body's `sender` together, so the
`sender` is a name within one client, never a credential: two clients that both say
"alice" have two conversations, and no client can reach another's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import NotRequired, TypedDict

from channels.base import Button, Reply

CHANNEL = "rest"
# A client id may not contain ":", so "client:sender" names exactly one (client, sender).
REST_CLIENT_ID = re.compile(r"[a-z0-9_-]{1,32}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_BEARER = re.compile(r"Bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


class RestReply(TypedDict):
    """One reply as the REST channel answers it."""

    text: str
    buttons: NotRequired[list[Button]]


def render(replies: list[Reply]) -> list[RestReply]:
    """The hub's replies as the webhook's JSON answer."""
    rendered: list[RestReply] = []
    for reply in replies:
        item = RestReply(text=reply.text)
        if reply.buttons:
            item["buttons"] = list(reply.buttons)
        rendered.append(item)
    return rendered


def key_hash(key: str) -> str:
    """What REST_CLIENTS stores for an API key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_client() -> tuple[str, str]:
    """A fresh random API key and the digest to list under the client's id."""
    key = secrets.token_urlsafe(32)
    return key, key_hash(key)


def presented_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None for any other header."""
    if authorization is None:
        return None
    match = _BEARER.fullmatch(authorization)
    return match.group(1) if match else None


def authenticate(key: str | None, clients: Mapping[str, str]) -> str | None:
    """The id of the client whose key this is, or None.

    Every configured digest is compared, in constant time, whatever matched: how long the
    answer takes says nothing about which clients exist or how close a guess came."""
    if key is None:
        return None
    presented = key_hash(key).encode("ascii")
    found: str | None = None
    for client, digest in clients.items():
        if hmac.compare_digest(presented, digest.encode("ascii")):
            found = client
    return found


def address(client: str, sender: str) -> str:
    """The conversation address of `sender` as named by `client`."""
    return f"{client}:{sender}"
