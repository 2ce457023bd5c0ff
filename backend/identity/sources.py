"""The *source* behind a conversation: who identity limits count against beyond the
conversation itself, so that opening new conversations brings no fresh attempts.

- SMS and WhatsApp: the sender's number (the same key as that phone, "p:…").
- Telegram: the chat, which for the private chats the channel takes is one Telegram user.
- REST and web chat: the address the hub saw the client write from (`note_client`, called by
  the channel routes before each turn); a conversation never seen that way counts as its own
  source, which is no weaker than the per-conversation limits.

The client address is stored only as a keyed hash, in `identity_attempts` rows of kind
`SEEN_FROM` whose key is "o:" + 32 characters of the channel address hash + ":" + 44 of the
client's (79 of the column's 80): the table already holds this kind of bookkeeping, and no
column or migration is needed. Behind a reverse proxy the hub must be told the real client
(uvicorn's `--proxy-headers` with `--forwarded-allow-ips`), or every client is one source.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Conversation, IdentityAttempt, utcnow
from backend.db.work import DbWork
from backend.hub.keywords import PHONE_CHANNELS
from channels import rest, webchat

from . import attempts
from .phones import to_e164

SEEN_FROM = "seen_from"
# Channels whose conversation address is the client's own choice (a REST sender, a web token).
CLIENT_CHANNELS = frozenset({rest.CHANNEL, webchat.CHANNEL})


def _sighting_prefix(address_hash: str) -> str:
    return f"o:{address_hash[:32]}:"


def note_client(
    *, session: Session, cipher: Cipher, channel: str, address: str, client: str, now: datetime
) -> None:
    """Remember that `client` (an IP address) wrote from this channel address; commits.

    One row per (address, client), its time moved on each message, so the latest client is
    the one whose turn is running.
    """
    address_hash = cipher.address_hash(channel, address)
    key = _sighting_prefix(address_hash) + cipher.address_hash("identity-client", client)[:44]
    moved = session.execute(
        update(IdentityAttempt)
        .where(IdentityAttempt.key == key, IdentityAttempt.kind == SEEN_FROM)
        .values(at=now)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.add(IdentityAttempt(key=key, kind=SEEN_FROM, at=now))
    session.commit()


async def note_client_seen(
    db: DbWork, cipher: Cipher, *, channel: str, address: str, client: str
) -> None:
    """`note_client` now, as one short database step: what the REST and web chat routes call
    before each turn."""
    await db.run(
        lambda session: note_client(
            session=session,
            cipher=cipher,
            channel=channel,
            address=address,
            client=client,
            now=utcnow(),
        )
    )


def source_of(
    *, session: Session, cipher: Cipher, conversation: Conversation, sender_phone: str | None
) -> str:
    """The source key of a conversation (see the module's docstring)."""
    if sender_phone is not None:
        return attempts.phone_key(cipher, sender_phone)
    if conversation.channel in CLIENT_CHANNELS:
        prefix = _sighting_prefix(conversation.address_hash)
        seen = session.scalar(
            select(IdentityAttempt.key)
            .where(IdentityAttempt.kind == SEEN_FROM, IdentityAttempt.key.startswith(prefix))
            .order_by(IdentityAttempt.at.desc(), IdentityAttempt.id.desc())
            .limit(1)
        )
        if seen is not None:
            return "s:" + seen[len(prefix) :]
    return attempts.source_key(cipher, conversation.channel, conversation.address_hash)


def sender_phone_of(cipher: Cipher, conversation: Conversation, region: str) -> str | None:
    """The E.164 sender of an SMS or WhatsApp conversation; None on other channels."""
    if conversation.channel not in PHONE_CHANNELS:
        return None
    return to_e164(cipher.decrypt(conversation.address_ciphertext), region=region)
