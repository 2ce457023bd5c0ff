"""The outreach outbox: a row is written (status `sending`) before a message goes out, so a
restart can tell what was started, and a second attempt at the same message is refused."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import Message, OutboundDelivery, OutreachOutbox, as_utc

from .plan import Planned

SENDING = "sending"
SENT = "sent"


def claim(
    *, session: Session, item: Planned, conversation_id: str, capped: bool, now: datetime
) -> OutreachOutbox | None:
    """Record that this message is about to go out; None when it was claimed before."""
    row = OutreachOutbox(
        key=item.outbox_key,
        job_id=item.job_id,
        kind=item.kind,
        patient_hash=item.patient_hash,
        conversation_id=conversation_id,
        status=SENDING,
        capped=capped,
        claimed_at=now,
        delivery_mark=session.scalar(select(func.coalesce(func.max(OutboundDelivery.id), 0))),
        message_mark=session.scalar(select(func.coalesce(func.max(Message.id), 0))),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the unique key: this message was already started or sent
        session.rollback()
        return None
    return row


def claim_many(
    *, session: Session, claims: list[tuple[Planned, str, bool]], now: datetime
) -> list[OutreachOutbox] | None:
    """`claim` for several messages (item, conversation id, capped) in one commit; None when
    any of them was claimed before (nothing is then claimed: claim them one by one)."""
    delivery_mark = session.scalar(select(func.coalesce(func.max(OutboundDelivery.id), 0)))
    message_mark = session.scalar(select(func.coalesce(func.max(Message.id), 0)))
    rows = [
        OutreachOutbox(
            key=item.outbox_key,
            job_id=item.job_id,
            kind=item.kind,
            patient_hash=item.patient_hash,
            conversation_id=conversation_id,
            status=SENDING,
            capped=capped,
            claimed_at=now,
            delivery_mark=delivery_mark,
            message_mark=message_mark,
        )
        for item, conversation_id, capped in claims
    ]
    session.add_all(rows)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return rows


def claimed_keys(*, session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these outbox keys were claimed (started or sent) before, in one query."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # under every database's bind limit
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(select(OutreachOutbox.key).where(OutreachOutbox.key.in_(chunk)))
        )
    return found


def mark_all_finished(*, session: Session, statuses: dict[int, str], now: datetime) -> None:
    """Record what became of claims (row id -> status), in the caller's transaction: one
    statement per status."""
    by_status: dict[str, list[int]] = {}
    for row_id, status in statuses.items():
        by_status.setdefault(status[:32], []).append(row_id)
    for status, row_ids in by_status.items():
        for start in range(0, len(row_ids), 500):  # under every database's bind limit
            chunk = row_ids[start : start + 500]
            session.execute(
                update(OutreachOutbox)
                .where(OutreachOutbox.id.in_(chunk))
                .values(status=status, finished_at=now)
            )


def forget(*, session: Session, row_id: int) -> None:
    """Give back a claim whose message never left (so a later attempt may send it), in the
    caller's transaction."""
    session.execute(delete(OutreachOutbox).where(OutreachOutbox.id == row_id))


def capped_sent_times(*, session: Session, patient_hash: str, since: datetime) -> list[datetime]:
    """When this patient was sent (or is being sent) capped messages since `since`."""
    rows = session.scalars(
        select(OutreachOutbox.claimed_at).where(
            OutreachOutbox.patient_hash == patient_hash,
            OutreachOutbox.capped.is_(True),
            OutreachOutbox.status.in_((SENDING, SENT)),
            OutreachOutbox.claimed_at >= since,
        )
    ).all()
    return [as_utc(at) for at in rows]


def interrupted_claims(*, session: Session) -> list[OutreachOutbox]:
    """Messages started but not finished: the process stopped in the middle of them."""
    return list(session.scalars(select(OutreachOutbox).where(OutreachOutbox.status == SENDING)))


def left_the_system(*, session: Session, row: OutreachOutbox) -> bool:
    """True when a message for this claim reached a provider before the process stopped.

    Phone senders record each body handed to the provider at once (outbound_deliveries);
    other channels leave only the transcript line, written just after the send.
    """
    delivered = session.scalar(
        select(func.count()).where(
            OutboundDelivery.conversation_id == row.conversation_id,
            OutboundDelivery.kind == "outreach",
            OutboundDelivery.id > row.delivery_mark,
            OutboundDelivery.status.not_in(("failed", "blocked_opt_out", "blocked_window")),
        )
    )
    if delivered:
        return True
    logged = session.scalar(
        select(func.count()).where(
            Message.conversation_id == row.conversation_id,
            Message.direction == "out",
            Message.author == "outreach",
            Message.id > row.message_mark,
        )
    )
    return bool(logged)


def recent(*, session: Session, limit: int = 50) -> list[OutreachOutbox]:
    """The latest outbox rows, newest first (the operators' view)."""
    query = select(OutreachOutbox).order_by(OutreachOutbox.id.desc()).limit(limit)
    return list(session.scalars(query))
