"""Conversations and the message log: opaque ids for channel addresses, encrypted text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.crypto import Cipher
from backend.db.models import Conversation, Message, utcnow
from backend.hub.sessions import turns_after_message
from channels.base import Button, InboundMessage, Reply


@dataclass(frozen=True)
class LoggedMessage:
    """A decrypted transcript line."""

    author: str
    direction: str
    text: str
    buttons: list[Button]
    at: datetime


def get_or_create_conversation(
    *, session: Session, cipher: Cipher, channel: str, address: str
) -> Conversation:
    address_hash = cipher.address_hash(channel, address)
    query = select(Conversation).where(
        Conversation.channel == channel, Conversation.address_hash == address_hash
    )
    existing = session.scalars(query).first()
    if existing is not None:
        return existing
    conversation = Conversation(
        channel=channel, address_hash=address_hash, address_ciphertext=cipher.encrypt(address)
    )
    session.add(conversation)
    try:
        session.commit()
    except IntegrityError:  # another request created it first
        session.rollback()
        return session.scalars(query).one()
    return conversation


def find_conversation(
    *, session: Session, cipher: Cipher, channel: str, address: str
) -> Conversation | None:
    address_hash = cipher.address_hash(channel, address)
    return session.scalars(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.address_hash == address_hash
        )
    ).first()


def log_inbound(
    *,
    session: Session,
    cipher: Cipher,
    conversation: Conversation,
    message: InboundMessage,
    text: str,
) -> int | None:
    """Store a patient message and commit; its id, or None when the provider already
    delivered this message id. Core statements, not the ORM unit of work: this runs on
    every message, before Rasa, and the flush machinery was a third of the hub's own cost."""
    now = utcnow()
    turns = turns_after_message(
        conversation.session_turns, _aware(conversation.last_message_at), now
    )
    try:
        message_id = session.execute(
            insert(Message)
            .values(
                conversation_id=conversation.id,
                channel=message.channel,
                direction="in",
                author="patient",
                text_ciphertext=cipher.encrypt(text),
                provider_message_id=message.provider_message_id,
                created_at=now,
            )
            .returning(Message.id)
        ).scalar_one()
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(session_turns=turns, last_message_at=now)
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    set_committed_value(conversation, "session_turns", turns)
    set_committed_value(conversation, "last_message_at", now)
    return int(message_id)


def log_outbound(
    *,
    session: Session,
    cipher: Cipher,
    conversation: Conversation,
    replies: list[Reply],
    author: str = "bot",
) -> None:
    """Store what was said to the patient, in order, and commit."""
    if not replies:
        return
    now = utcnow()
    session.execute(
        insert(Message),
        [
            {
                "conversation_id": conversation.id,
                "channel": conversation.channel,
                "direction": "out",
                "author": author,
                "text_ciphertext": cipher.encrypt(reply.text),
                "buttons_ciphertext": (
                    cipher.encrypt(json.dumps(reply.buttons)) if reply.buttons else None
                ),
                "created_at": now,
            }
            for reply in replies
        ],
    )
    session.commit()


def offered_buttons(*, session: Session, cipher: Cipher, conversation_id: str) -> list[Button]:
    """The buttons of the latest outbound message, if it was the last one sent."""
    buttons = session.execute(
        select(Message.buttons_ciphertext)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar()
    if buttons is None:
        return []
    loaded = json.loads(cipher.decrypt(buttons))
    return [Button(title=b["title"], payload=b["payload"]) for b in loaded]


def transcript(
    *, session: Session, cipher: Cipher, conversation_id: str, limit: int = 500
) -> list[LoggedMessage]:
    """The conversation's latest messages, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return [
        LoggedMessage(
            author=row.author,
            direction=row.direction,
            text=cipher.decrypt(row.text_ciphertext),
            buttons=json.loads(cipher.decrypt(row.buttons_ciphertext))
            if row.buttons_ciphertext
            else [],
            at=row.created_at,
        )
        for row in reversed(rows)
    ]


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
