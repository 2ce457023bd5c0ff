"""Hand-offs in the database. `_move` is the one place that changes a hand-off's state.

Every move is a conditional UPDATE (`... WHERE id = :id AND state = :from`), so two clinicians
racing for the same conversation cannot both win: the loser's UPDATE matches no row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Clinician, Conversation, Handoff, utcnow
from backend.handoff.states import (
    ACTIVE_STATES,
    DEFAULT_PRIORITY,
    PRIORITY_RANK,
    Action,
    InvalidTransition,
    Priority,
    Reason,
    State,
    next_state,
)


class HandoffNotFound(LookupError):
    """No hand-off has this id."""

    def __init__(self, handoff_id: int) -> None:
        super().__init__(f"no hand-off {handoff_id}")
        self.handoff_id = handoff_id


class AlreadyClaimed(Exception):
    """Another clinician took the conversation first; refresh the queue."""

    def __init__(self, handoff_id: int, claimed_by: int | None) -> None:
        super().__init__("already taken by another clinician")
        self.handoff_id = handoff_id
        self.claimed_by = claimed_by


class NotHolder(PermissionError):
    """Only the clinician holding the conversation can transfer, release or resolve it."""

    def __init__(self, handoff_id: int, clinician_id: int, holder: int | None) -> None:
        super().__init__(f"hand-off {handoff_id} is not held by clinician {clinician_id}")
        self.handoff_id = handoff_id
        self.clinician_id = clinician_id
        self.holder = holder


class UnknownClinician(LookupError):
    """The transfer target is not an active clinician account."""

    def __init__(self, clinician_id: int) -> None:
        super().__init__(f"no active clinician {clinician_id}")
        self.clinician_id = clinician_id


def _get(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    return handoff


def _move(
    *,
    session: Session,
    handoff_id: int,
    action: Action,
    holder: int | None = None,
    values: dict[str, Any] | None = None,
) -> Handoff:
    """Apply `action` through the transition table, atomically; the one state-changing place.

    With `holder`, the hand-off must also be held by that clinician. Commits on success.
    """
    current = _get(session, handoff_id)
    state = State(current.state)
    target = next_state(state, action, handoff_id=handoff_id)
    if holder is not None and current.claimed_by != holder:
        raise NotHolder(handoff_id, holder, current.claimed_by)
    condition = [Handoff.id == handoff_id, Handoff.state == state.value]
    if holder is not None:
        condition.append(Handoff.claimed_by == holder)
    now = utcnow()
    statement = (
        update(Handoff)
        .where(*condition)
        .values(state=target.value, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    matched = session.execute(statement).rowcount  # type: ignore[attr-defined]
    session.commit()
    if matched == 1:
        return _get(session, handoff_id)
    # Someone else moved it between our read and our write: explain what happened.
    latest = _get(session, handoff_id)
    if action is Action.CLAIM and latest.state == State.WITH_CLINICIAN:
        raise AlreadyClaimed(handoff_id, latest.claimed_by)
    if holder is not None and latest.claimed_by != holder:
        raise NotHolder(handoff_id, holder, latest.claimed_by)
    raise InvalidTransition(State(latest.state), action, handoff_id)


def open_handoff(
    *,
    session: Session,
    cipher: Cipher,
    conversation_id: str,
    reason: Reason,
    priority: Priority | None = None,
    summary: dict[str, Any] | None = None,
) -> tuple[Handoff, bool]:
    """Put the conversation in the queue; `(handoff, created)`.

    A conversation already waiting or held keeps its one active hand-off (its priority is raised
    if this escalation is more urgent), so calling this twice is safe.
    """
    if session.get(Conversation, conversation_id) is None:
        raise UnknownConversation(conversation_id)
    priority = priority or DEFAULT_PRIORITY[reason]
    existing = active_handoff(session=session, conversation_id=conversation_id)
    if existing is None:
        next_state(State.BOT, Action.OPEN)  # the table allows it; stated for the record
        now = utcnow()
        handoff = Handoff(
            conversation_id=conversation_id,
            state=State.WAITING.value,
            reason=reason.value,
            priority=priority.value,
            priority_rank=PRIORITY_RANK[priority],
            summary_ciphertext=cipher.encrypt(json.dumps(summary)) if summary else None,
            created_at=now,
            waiting_since=now,
            updated_at=now,
        )
        session.add(handoff)
        try:
            session.commit()
            return handoff, True
        except IntegrityError:  # a concurrent call opened it first
            session.rollback()
            existing = active_handoff(session=session, conversation_id=conversation_id)
            if existing is None:
                raise
    if PRIORITY_RANK[priority] < existing.priority_rank:
        existing.priority = priority.value
        existing.priority_rank = PRIORITY_RANK[priority]
        existing.reason = reason.value
        if summary:
            existing.summary_ciphertext = cipher.encrypt(json.dumps(summary))
        existing.updated_at = utcnow()
        session.commit()
    return existing, False


def claim(*, session: Session, handoff_id: int, clinician_id: int) -> Handoff:
    """Take a waiting conversation; `AlreadyClaimed` when another clinician was first."""
    now = utcnow()
    try:
        return _move(
            session=session,
            handoff_id=handoff_id,
            action=Action.CLAIM,
            values={"claimed_by": clinician_id, "claimed_at": now},
        )
    except InvalidTransition as exc:
        if exc.state == State.WITH_CLINICIAN:
            raise AlreadyClaimed(handoff_id, _get(session, handoff_id).claimed_by) from exc
        raise


def transfer(
    *, session: Session, handoff_id: int, clinician_id: int, to_clinician_id: int
) -> Handoff:
    """Give a held conversation to another active clinician."""
    target = session.get(Clinician, to_clinician_id)
    if target is None or not target.active:
        raise UnknownClinician(to_clinician_id)
    return _move(
        session=session,
        handoff_id=handoff_id,
        action=Action.TRANSFER,
        holder=clinician_id,
        values={"claimed_by": to_clinician_id, "claimed_at": utcnow()},
    )


def release(*, session: Session, handoff_id: int, clinician_id: int) -> Handoff:
    """Put a held conversation back in the queue (its waiting time starts again)."""
    return _move(
        session=session,
        handoff_id=handoff_id,
        action=Action.RELEASE,
        holder=clinician_id,
        values={"claimed_by": None, "claimed_at": None, "waiting_since": utcnow()},
    )


def resolve(*, session: Session, handoff_id: int, clinician_id: int, hand_back: bool) -> Handoff:
    """Finish the hand-off; `hand_back` says whether the assistant picks the conversation up."""
    return _move(
        session=session,
        handoff_id=handoff_id,
        action=Action.RESOLVE,
        holder=clinician_id,
        values={"resolved_at": utcnow(), "outcome": "hand_back" if hand_back else "close"},
    )


def hand_back(*, session: Session, handoff_id: int) -> Handoff:
    """Record that the assistant has resumed the conversation (after Rasa was un-paused)."""
    return _move(session=session, handoff_id=handoff_id, action=Action.HAND_BACK)


def get_handoff(*, session: Session, handoff_id: int) -> Handoff:
    """The hand-off, or `HandoffNotFound`."""
    return _get(session, handoff_id)


def active_handoff(*, session: Session, conversation_id: str) -> Handoff | None:
    """The conversation's hand-off while it is waiting or held; None when the bot has it."""
    query = select(Handoff).where(
        Handoff.conversation_id == conversation_id,
        Handoff.state.in_([s.value for s in ACTIVE_STATES]),
    )
    return session.scalars(query).first()


def queue(*, session: Session, states: frozenset[State] = ACTIVE_STATES) -> list[Handoff]:
    """Open hand-offs, most urgent first, then longest waiting first."""
    query = (
        select(Handoff)
        .where(Handoff.state.in_([s.value for s in states]))
        .order_by(Handoff.priority_rank, Handoff.waiting_since, Handoff.id)
    )
    return list(session.scalars(query).all())


def queue_position(*, session: Session, handoff: Handoff) -> int:
    """1 for the next conversation a clinician should take; 0 when it is not waiting."""
    if handoff.state != State.WAITING:
        return 0
    waiting = queue(session=session, states=frozenset({State.WAITING}))
    return next((i for i, h in enumerate(waiting, start=1) if h.id == handoff.id), 0)


def decrypt_summary(cipher: Cipher, handoff: Handoff) -> dict[str, Any] | None:
    """The decrypted summary (findings, level, rules fired, or the critical result)."""
    if handoff.summary_ciphertext is None:
        return None
    loaded: dict[str, Any] = json.loads(cipher.decrypt(handoff.summary_ciphertext))
    return loaded


def waited_seconds(handoff: Handoff, now: datetime | None = None) -> int:
    """Seconds since the hand-off (last) entered the queue."""
    since = handoff.waiting_since
    if since.tzinfo is None:  # SQLite returns naive datetimes; all are stored as UTC
        since = since.replace(tzinfo=utcnow().tzinfo)
    return max(0, int(((now or utcnow()) - since).total_seconds()))
