"""The order of a sent message's delivery statuses, so a status callback only moves forward.

Twilio posts a callback for each step of a message (queued, sending, sent, delivered, and
read on WhatsApp), but it does not promise to post them in order, it retries callbacks our
hub did not acknowledge, and a captured (signed) callback can be replayed. A callback that
would take a message back to an earlier step ("sent" after "delivered") is old news and
must not overwrite what the hub knows.
"""

from __future__ import annotations

# Each status Twilio reports for an outbound message, and its step in the message's life.
# A message moves to a later step only; the outcomes share a step, so once one is known a
# different outcome does not replace it. WhatsApp's "read" comes after "delivered".
STEP: dict[str, int] = {
    "accepted": 0,  # taken by a Messaging Service, no sender chosen yet
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
# Outcomes after which nothing else can happen to the message (no "read" after "failed").
FINAL = frozenset({"undelivered", "failed", "canceled", "read"})


def moves_forward(current: str, new: str) -> bool:
    """True when a callback saying `new` should replace the recorded `current` status.

    A status this table does not know is never recorded (it is logged by the caller); a
    recorded status it does not know (the hub's own, "recovered" say) is replaced by any
    status Twilio reports.
    """
    if new not in STEP:
        return False
    if current not in STEP:
        return True
    return current not in FINAL and STEP[new] > STEP[current]


def not_replaced_by(new: str) -> frozenset[str]:
    """The recorded statuses a callback saying `new` must leave as they are (for a
    conditional update, which two callbacks racing each other cannot both pass wrongly)."""
    return frozenset(current for current in STEP if not moves_forward(current, new))
