"""Web chat session tokens: issued by the server, stored as a keyed hash, with a lifetime.

The token is the tab's only credential, so the server never adopts one it did not issue (a
chosen or guessed token would otherwise name, or squat, a conversation) and never keeps a copy
of it: the row holds `Cipher.address_hash` of it, like every channel address. The
conversation's channel address is a second random value known only to the server.

A token lives while tabs keep using it: it ends `idle` after the last time a tab connected,
wrote or went away, and `absolute` after it was issued, whatever happens. An open tab counts
as in use (its disconnect restarts the idle clock), so a patient waiting on a clinician's
answer is not cut off; the absolute lifetime bounds even that.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.models import WebchatSession, as_utc
from channels.webchat import new_session_token

# Keeps token hashes apart from conversation address hashes made under the same key.
TOKEN_HASH_DOMAIN = "web-session-token"


@dataclass(frozen=True)
class Lifetime:
    """How long a token lasts unused (`idle`) and at most (`absolute`)."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lifetime:
        return cls(
            idle=timedelta(minutes=settings.webchat_session_idle_minutes),
            absolute=timedelta(hours=settings.webchat_session_max_hours),
        )


@dataclass(frozen=True)
class ChatSession:
    """A live token and the conversation address it stands for."""

    token: str  # given to the tab once; only its hash is stored
    token_hash: str
    address: str  # the web chat conversation's channel address
    created_at: datetime
    restarted: bool  # the tab presented a token that is unknown or expired

    def outlived(self, lifetime: Lifetime, now: datetime) -> bool:
        """True once the absolute lifetime is over (checked on every message of an open tab)."""
        return now - self.created_at > lifetime.absolute


def token_hash(cipher: Cipher, token: str) -> str:
    return cipher.address_hash(TOKEN_HASH_DOMAIN, token)


def open_session(
    *,
    session: Session,
    cipher: Cipher,
    presented: str | None,
    lifetime: Lifetime,
    now: datetime,
) -> ChatSession:
    """The live session of the presented token (its idle clock restarted), else a new one.

    Commits. An unknown or expired token is never adopted: the tab gets a new token and a new
    conversation, with `restarted` set so that the widget can say so.
    """
    if presented is not None:
        found = _live(session, cipher, presented, lifetime, now)
        if found is not None:
            return found
    session.execute(
        delete(WebchatSession).where(WebchatSession.created_at < now - lifetime.absolute)
    )
    token, address = new_session_token(), secrets.token_urlsafe(24)
    hashed = token_hash(cipher, token)
    session.add(
        WebchatSession(
            token_hash=hashed,
            address_ciphertext=cipher.encrypt(address),
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    return ChatSession(token, hashed, address, now, restarted=presented is not None)


def touch(*, session: Session, token_hash: str, now: datetime) -> None:
    """Restart the token's idle clock (a message written, a tab gone away). Commits."""
    session.execute(
        update(WebchatSession)
        .where(WebchatSession.token_hash == token_hash)
        .values(last_seen_at=now)
    )
    session.commit()


def _live(
    session: Session, cipher: Cipher, token: str, lifetime: Lifetime, now: datetime
) -> ChatSession | None:
    hashed = token_hash(cipher, token)
    row = session.get(WebchatSession, hashed)
    if row is None:
        return None
    created_at, last_seen_at = as_utc(row.created_at), as_utc(row.last_seen_at)
    if now - created_at > lifetime.absolute or now - last_seen_at > lifetime.idle:
        session.delete(row)  # an expired token is never accepted again, even if clocks drift
        session.commit()
        return None
    address = cipher.decrypt(row.address_ciphertext)
    row.last_seen_at = now
    session.commit()
    return ChatSession(token, hashed, address, created_at, restarted=False)
