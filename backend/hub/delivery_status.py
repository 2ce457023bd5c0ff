"""Recording Twilio's delivery status callbacks in `outbound_deliveries`, forward only.

A callback may come late, twice, or replayed; one that would move a message back to an
earlier status is acknowledged (Twilio would otherwise retry it) but not recorded
(channels/twilio/status.py says which statuses follow which).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db.models import OutboundDelivery, utcnow
from channels.twilio.status import STEP, not_replaced_by

# recorded: the status moved forward; stale: the message already had this status or a later
# one; unknown_message: not a message the hub sent; unknown_status: not a status Twilio
# documents for a sent message, so its place in the order is unknown.
StatusOutcome = Literal["recorded", "stale", "unknown_message", "unknown_status"]


def record_delivery_status(
    session: Session, *, message_sid: str, status: str, error_code: str | None
) -> StatusOutcome:
    """Record `status` for the message Twilio knows as `message_sid` if it moves it forward.

    One conditional UPDATE, so two callbacks handled at once (by two hub workers) cannot
    leave the earlier status recorded.
    """
    known = session.scalar(
        select(OutboundDelivery.id).where(OutboundDelivery.provider_message_id == message_sid)
    )
    if known is None:
        return "unknown_message"
    if status not in STEP:
        return "unknown_status"
    moved = session.execute(
        update(OutboundDelivery)
        .where(
            OutboundDelivery.provider_message_id == message_sid,
            OutboundDelivery.status.not_in(sorted(not_replaced_by(status))),
        )
        .values(
            status=status,
            error_code=error_code[:16] if error_code else None,
            updated_at=utcnow(),
        )
    )
    session.commit()
    return "recorded" if moved.rowcount else "stale"  # type: ignore[attr-defined]
