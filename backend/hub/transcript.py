"""Conversations and the message log: opaque ids for channel addresses, encrypted text."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.crypto import Cipher
from backend.db.models import Conversation, Handoff, Message, as_utc, new_conversation_id, utcnow
from backend.hub.sessions import turns_after_message
from channels.base import Button, InboundMessage, Reply

# The statements of every message's path, built once: building them per call (and working out
# their cache keys) was a third of their cost. Core tables, run on a Connection: an ORM
# session's entity loading and commit machinery cost more than the statements themselves.
Database = Connection | Session  # what runs them: the hub's connection, or a caller's session
_MESSAGES = cast(Table, Message.__table__)
SENT_TO_ASSISTANT = "sent_to_assistant_at"  # in a queued message's `meta`
UNREADABLE = "unreadable"  # in `meta`: why the assistant cannot read it (backend/hub/unreadable)
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
_OPEN_TURN = select(
    _CONVERSATIONS.c.id,
    _CONVERSATIONS.c.channel,
    _CONVERSATIONS.c.session_turns,
    _CONVERSATIONS.c.last_message_at,
    _LAST_BUTTONS,
    _LATEST_HANDOFF,
).where(
    _CONVERSATIONS.c.channel == bindparam("channel"),
    _CONVERSATIONS.c.address_hash == bindparam("address_hash"),
)
_OPEN_CONVERSATION = select(
    _CONVERSATIONS.c.id,
    _CONVERSATIONS.c.channel,
    _CONVERSATIONS.c.session_turns,
    _CONVERSATIONS.c.last_message_at,
    _LATEST_HANDOFF,
).where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
_INSERT_CONVERSATION = insert(_CONVERSATIONS)
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_INBOUND = insert(_MESSAGES).returning(_MESSAGES.c.id)
_MARK_HANDLED = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message_id"))
    .values(handled_at=bindparam("at"))
)
_STORED_INBOUND = (
    select(
        _MESSAGES.c.conversation_id,
        _MESSAGES.c.text_ciphertext,
        _MESSAGES.c.assistant_text_ciphertext,
        _MESSAGES.c.handled_at,
        _CONVERSATIONS.c.address_hash,
        _CONVERSATIONS.c.address_ciphertext,
        _MESSAGES.c.meta,
    )
    .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
    .where(_MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.direction == "in")
)
_PROVIDER_MESSAGE = select(_MESSAGES.c.id, _MESSAGES.c.handled_at).where(
    _MESSAGES.c.channel == bindparam("channel"),
    _MESSAGES.c.provider_message_id == bindparam("provider_message_id"),
)
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
    create_conversation(session, cipher=cipher, channel=channel, address=address)
    return session.scalars(query).one()


def create_conversation(db: Database, *, cipher: Cipher, channel: str, address: str) -> None:
    """Store a new conversation for a channel address and commit; nothing when another
    request has just created it (the address is unique per channel)."""
    now = utcnow()
    row = {
        "id": new_conversation_id(),
        "channel": channel,
        "address_hash": cipher.address_hash(channel, address),
        "address_ciphertext": cipher.encrypt(address),
        "created_at": now,
        "last_message_at": now,
        "session_turns": 0,
    }
    try:
        db.execute(_INSERT_CONVERSATION, row)
        db.commit()
    except IntegrityError:
        db.rollback()


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
class ConversationState:
    """What answering a message needs of its conversation, read as a plain row."""

    id: str
    channel: str
    session_turns: int  # patient messages in the current Rasa session
    last_message_at: datetime


@dataclass(frozen=True)
class Turn:
    """What the hub must know about a conversation before answering a message."""

    conversation: ConversationState
    offered: list[Button]  # the buttons of the last message sent, if it had any
    latest_handoff_id: int | None


def open_turn(*, db: Database, cipher: Cipher, channel: str, address: str) -> Turn:
    """The conversation of a channel address (created on its first message), the buttons it
    was last offered and its latest hand-off, in one query: this runs before every answer."""
    params = {"channel": channel, "address_hash": cipher.address_hash(channel, address)}
    row = db.execute(_OPEN_TURN, params).first()
    if row is None:
        create_conversation(db, cipher=cipher, channel=channel, address=address)
        row = db.execute(_OPEN_TURN, params).one()
    conversation_id, channel, turns, last_message_at, buttons, handoff_id = row
    conversation = ConversationState(conversation_id, channel, turns, as_utc(last_message_at))
    return Turn(conversation, _buttons(cipher, buttons), handoff_id)


@dataclass(frozen=True)
class InboundRecord:
    """A patient message to be stored, and the conversation's counters after it. The text
    is encrypted as it is stored, which for most messages is while Rasa works on them."""

    conversation_id: str
    channel: str
    provider_message_id: str | None
    text: str
    session_turns: int
    at: datetime
    assistant_text: str | None = None  # what Rasa gets, when it is not `text` (a payload)
    unreadable: str | None = None  # why the assistant cannot read it; None: it can

    def row(self, cipher: Cipher) -> dict[str, object]:
        return {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "direction": "in",
            "author": "patient",
            "text_ciphertext": cipher.encrypt(self.text),
            "assistant_text_ciphertext": (
                cipher.encrypt(self.assistant_text) if self.assistant_text is not None else None
            ),
            "provider_message_id": self.provider_message_id,
            "meta": {UNREADABLE: self.unreadable} if self.unreadable else None,
            "created_at": self.at,
        }


def inbound_record(
    *,
    conversation: ConversationState | Conversation,
    message: InboundMessage,
    text: str,
    assistant_text: str | None = None,
    unreadable: str | None = None,
) -> InboundRecord:
    now = utcnow()
    turns = turns_after_message(
        conversation.session_turns, as_utc(conversation.last_message_at), now
    )
    kept = assistant_text if assistant_text != text else None
    return InboundRecord(
        conversation.id,
        message.channel,
        message.provider_message_id,
        text,
        turns,
        now,
        kept,
        unreadable,
    )


@dataclass(frozen=True)
class StoredInbound:
    """A patient message already in the log, whose turn a queue worker is to answer."""

    message_id: int
    conversation_id: str
    text: str  # as the patient saw it
    assistant_text: str  # what Rasa gets
    handled: bool
    address_hash: str  # the conversation's lock key, as for a message answered at once
    address: str
    # When an earlier try of this turn sent it to Rasa (a worker that died before logging
    # the answer): Rasa may have answered it already.
    sent_to_assistant_at: datetime | None = None
    unreadable: str | None = None  # why the assistant cannot read it; None: it can


def stored_inbound(db: Database, cipher: Cipher, message_id: int) -> StoredInbound | None:
    """The stored patient message `message_id`, or None if there is no such message."""
    row = db.execute(_STORED_INBOUND, {"message_id": message_id}).first()
    if row is None:
        return None
    conversation_id, text_ciphertext, assistant_ciphertext, handled_at, key, address, meta = row
    text = cipher.decrypt(text_ciphertext)
    assistant_text = cipher.decrypt(assistant_ciphertext) if assistant_ciphertext else text
    sent_at = (meta or {}).get(SENT_TO_ASSISTANT)
    unreadable = (meta or {}).get(UNREADABLE)
    return StoredInbound(
        message_id,
        conversation_id,
        text,
        assistant_text,
        handled_at is not None,
        key,
        cipher.decrypt(address),
        datetime.fromisoformat(sent_at) if sent_at else None,
        unreadable,
    )


def mark_sent_to_assistant(db: Database, message_id: int) -> datetime:
    """Record, before a queued turn asks Rasa, that it did; commit. A later try of the turn
    then first asks Rasa whether it already answered (`RasaGateway.replies_since`)."""
    at = utcnow()
    db.execute(
        update(_MESSAGES)
        .where(_MESSAGES.c.id == message_id)
        .values(meta={SENT_TO_ASSISTANT: at.isoformat()})
    )
    db.commit()
    return at


def unanswered_up_to(db: Database, conversation_id: str, message_id: int) -> list[int]:
    """The conversation's patient messages up to `message_id` not yet answered, oldest first."""
    return list(
        db.scalars(
            select(_MESSAGES.c.id)
            .where(
                _MESSAGES.c.conversation_id == conversation_id,
                _MESSAGES.c.direction == "in",
                _MESSAGES.c.handled_at.is_(None),
                _MESSAGES.c.id <= message_id,
            )
            .order_by(_MESSAGES.c.id)
        )
    )


def find_provider_message(
    db: Database, *, channel: str, provider_message_id: str | None
) -> tuple[int, bool]:
    """(message id, answered) of the message a provider delivered before under this id."""
    params = {"channel": channel, "provider_message_id": provider_message_id}
    message_id, handled_at = db.execute(_PROVIDER_MESSAGE, params).one()
    return int(message_id), handled_at is not None


def open_conversation(db: Database, conversation_id: str) -> Turn:
    """`open_turn` for a conversation known by its id (a queued message's)."""
    row = db.execute(_OPEN_CONVERSATION, {"conversation_id": conversation_id}).one()
    conversation_id, channel, turns, last_message_at, handoff_id = row
    conversation = ConversationState(conversation_id, channel, turns, as_utc(last_message_at))
    return Turn(conversation, [], handoff_id)


def store_inbound(db: Database, cipher: Cipher, record: InboundRecord) -> int | None:
    """Store the message and the conversation's counters and commit; the message's id, or
    None when the provider already delivered this message id. Core statements, not the ORM
    unit of work: this runs on every message, and the flush machinery was a third of the
    hub's own cost."""
    try:
        message_id = db.execute(_INSERT_INBOUND, record.row(cipher)).scalar_one()
        counters = {
            "conversation_id": record.conversation_id,
            "turns": record.session_turns,
            "at": record.at,
        }
        db.execute(_COUNT_TURN, counters)
        db.commit()
    except IntegrityError:
        db.rollback()
        return None
    return int(message_id)


def after_inbound(conversation: ConversationState, record: InboundRecord) -> ConversationState:
    """The conversation with the counters `record` stores (without reading it again)."""
    return replace(conversation, session_turns=record.session_turns, last_message_at=record.at)


def count_new_session(db: Database, conversation: ConversationState) -> ConversationState:
    """Record that a new Rasa session began with this message, and commit."""
    counters = {"conversation_id": conversation.id, "turns": 1, "at": conversation.last_message_at}
    db.execute(_COUNT_TURN, counters)
    db.commit()
    return replace(conversation, session_turns=1)


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
    record = inbound_record(conversation=conversation, message=message, text=text)
    message_id = store_inbound(session, cipher, record)
    if message_id is not None:  # the counters it stored, without a reload
        set_committed_value(conversation, "session_turns", record.session_turns)
        set_committed_value(conversation, "last_message_at", record.at)
    return message_id


def log_outbound(
    *,
    db: Database,
    cipher: Cipher,
    conversation: ConversationState,
    replies: list[Reply],
    author: str = "bot",
    answering: int | None = None,
) -> None:
    """Store what was said to the patient, in order, and commit; with `answering`, mark that
    patient message answered in the same transaction (a retried turn then answers nothing)."""
    now = utcnow()
    if answering is not None:
        db.execute(_MARK_HANDLED, {"message_id": answering, "at": now})
    if not replies:
        db.commit()
        return
    db.execute(
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
    db.commit()


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
