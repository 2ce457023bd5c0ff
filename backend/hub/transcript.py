"""Conversations and the message log: opaque ids for channel addresses, encrypted text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.crypto import Cipher
from backend.db.models import Conversation, Handoff, Message, as_utc, utcnow
from backend.hub.sessions import turns_after_message
from channels.base import Button, InboundMessage, Reply

# The statements of every message's path, built once: building them per call (and working out
# their cache keys) was a third of their cost. Core tables, not the ORM's bulk machinery.
_MESSAGES = cast(Table, Message.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_LAST_BUTTONS = (
    select(Message.buttons_ciphertext)
    .where(Message.conversation_id == Conversation.id, Message.direction == "out")
    .order_by(Message.id.desc())
    .limit(1)
    .scalar_subquery()
)
_LATEST_HANDOFF = (
    select(Handoff.id)
    .where(Handoff.conversation_id == Conversation.id)
    .order_by(Handoff.id.desc())
    .limit(1)
    .scalar_subquery()
)
_OPEN_TURN = select(Conversation, _LAST_BUTTONS, _LATEST_HANDOFF).where(
    Conversation.channel == bindparam("channel"),
    Conversation.address_hash == bindparam("address_hash"),
)
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_INBOUND = insert(_MESSAGES).returning(_MESSAGES.c.id)
_COUNT_TURN = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
    .values(session_turns=bindparam("turns"), last_message_at=bindparam("at"))
)


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


@dataclass(frozen=True)
class Turn:
    """What the hub must know about a conversation before answering a message."""

    conversation: Conversation
    offered: list[Button]  # the buttons of the last message sent, if it had any
    latest_handoff_id: int | None


def open_turn(*, session: Session, cipher: Cipher, channel: str, address: str) -> Turn:
    """The conversation of a channel address (created on its first message), the buttons it
    was last offered and its latest hand-off, in one query: this runs before every answer."""
    address_hash = cipher.address_hash(channel, address)
    row = session.execute(_OPEN_TURN, {"channel": channel, "address_hash": address_hash}).first()
    if row is None:
        conversation = get_or_create_conversation(
            session=session, cipher=cipher, channel=channel, address=address
        )
        return Turn(conversation, [], None)
    conversation, buttons, handoff_id = row
    return Turn(conversation, _buttons(cipher, buttons), handoff_id)


@dataclass(frozen=True)
class InboundRecord:
    """A patient message ready to be stored, and the conversation's counters after it."""

    conversation_id: str
    row: dict[str, object]
    session_turns: int
    at: datetime


def inbound_record(
    *, cipher: Cipher, conversation: Conversation, message: InboundMessage, text: str
) -> InboundRecord:
    now = utcnow()
    turns = turns_after_message(
        conversation.session_turns, as_utc(conversation.last_message_at), now
    )
    row: dict[str, object] = {
        "conversation_id": conversation.id,
        "channel": message.channel,
        "direction": "in",
        "author": "patient",
        "text_ciphertext": cipher.encrypt(text),
        "provider_message_id": message.provider_message_id,
        "created_at": now,
    }
    return InboundRecord(conversation.id, row, turns, now)


def store_inbound(session: Session, record: InboundRecord) -> int | None:
    """Store the message and the conversation's counters and commit; the message's id, or
    None when the provider already delivered this message id. Core statements, not the ORM
    unit of work: this runs on every message, and the flush machinery was a third of the
    hub's own cost."""
    try:
        message_id = session.execute(_INSERT_INBOUND, record.row).scalar_one()
        counters = {
            "conversation_id": record.conversation_id,
            "turns": record.session_turns,
            "at": record.at,
        }
        session.execute(_COUNT_TURN, counters)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return int(message_id)


def note_inbound(conversation: Conversation, record: InboundRecord) -> None:
    """Give the loaded conversation the counters `record` stores (without a reload)."""
    set_committed_value(conversation, "session_turns", record.session_turns)
    set_committed_value(conversation, "last_message_at", record.at)


def log_inbound(
    *,
    session: Session,
    cipher: Cipher,
    conversation: Conversation,
    message: InboundMessage,
    text: str,
) -> int | None:
    """Store a patient message and commit; its id, or None when the provider already
    delivered this message id."""
    record = inbound_record(cipher=cipher, conversation=conversation, message=message, text=text)
    message_id = store_inbound(session, record)
    if message_id is not None:
        note_inbound(conversation, record)
    return message_id


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
        _INSERT_MESSAGE,
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


def _buttons(cipher: Cipher, ciphertext: str | None) -> list[Button]:
    if ciphertext is None:
        return []
    loaded = json.loads(cipher.decrypt(ciphertext))
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
