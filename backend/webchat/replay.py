"""The transcript a reconnecting tab is shown: nothing from a verification that has lapsed.

Whatever was said while the conversation was verified (results, appointments, the patient's
own questions about them) was meant for the verified patient. A token outlives a verification
(30 idle minutes by default, or "log out"), so whoever holds the tab later must not get it
back by reloading: every message said during a verification that is not the live one is
replaced by one neutral line per hidden stretch. (A verification before the live one is
hidden too: it may have been someone else's.)

The message log has no per-message verification flag, so the stretches are worked out the way
backend/identity/access.py decides a verification is live: each one starts at a successful
code (the access audit keeps every one, backend/identity/verification.py) and ends at the next
one, at a "log out" (audited too), or once the patient has been silent longer than the idle
limit. Whether a verification is live now is asked of backend/identity/access.py itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import AccessAudit, Message, as_utc
from backend.hub.transcript import LoggedMessage
from backend.identity.access import DEFAULT_IDLE, IDLE_INFO_KEY, verified_identity
from channels.webchat import ButtonFrame, ChatEntry

# The audit actions backend/identity/verification.py writes when a code verifies a
# conversation and when the patient logs out.
VERIFIED_ACTION = "identity.verify"
ENDED_ACTION = "identity.end"
HIDDEN_TEXT = (
    "Earlier messages are hidden because the identity check for this chat has ended. "
    "Confirm who you are again to continue with your own information."
)
Period = tuple[datetime, datetime]  # [start, end) of one verification


@dataclass(frozen=True)
class Verification:
    """The conversation's verifications, and when the live one (if any) began."""

    periods: tuple[Period, ...]
    current: datetime | None  # None: not verified now

    def hides(self, at: datetime) -> bool:
        """True for a message said at `at` that this tab may not see again."""
        return any(
            start <= at < end and (self.current is None or start < self.current)
            for start, end in self.periods
        )


def verified_periods(
    *,
    starts: Iterable[datetime],
    ends: Iterable[datetime],
    inbound: Iterable[datetime],
    idle: timedelta,
    now: datetime,
) -> tuple[Period, ...]:
    """When the conversation was verified: from each start to the next start, a log-out,
    the first silence of the patient longer than `idle` (it ends `idle` after their last
    message), or now."""
    starts, ends, inbound = sorted(starts), sorted(ends), sorted(inbound)
    periods: list[Period] = []
    for index, start in enumerate(starts):
        cut = min([*starts[index + 1 : index + 2], *(e for e in ends if e >= start), now])
        last = start
        for moment in (t for t in inbound if start < t < cut):
            if moment - last > idle:
                break
            last = moment
        periods.append((start, min(cut, last + idle)))
    return tuple(periods)


def verification(
    *, session: Session, cipher: Cipher, conversation_id: str, now: datetime
) -> Verification:
    """The conversation's verification history as far as replay needs it."""
    live = verified_identity(
        session=session, cipher=cipher, conversation_id=conversation_id, now=now
    )
    current = live.verified_at if live is not None else None
    audited = session.execute(
        select(AccessAudit.action, AccessAudit.at).where(
            AccessAudit.conversation_id == conversation_id,
            AccessAudit.action.in_((VERIFIED_ACTION, ENDED_ACTION)),
            AccessAudit.outcome == "success",
        )
    ).all()
    starts = [as_utc(at) for action, at in audited if action == VERIFIED_ACTION]
    starts += [current] if current is not None else []
    if not starts:
        return Verification(periods=(), current=None)
    inbound = session.scalars(
        select(Message.created_at).where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.created_at >= min(starts),
        )
    ).all()
    periods = verified_periods(
        starts=starts,
        ends=[as_utc(at) for action, at in audited if action == ENDED_ACTION],
        inbound=[as_utc(at) for at in inbound],
        idle=session.info.get(IDLE_INFO_KEY, DEFAULT_IDLE),
        now=now,
    )
    return Verification(periods=periods, current=current)


def replayed(lines: list[LoggedMessage], seen: Verification) -> list[ChatEntry]:
    """The transcript as the tab may see it: each hidden stretch as one neutral line."""
    entries: list[ChatEntry] = []
    hiding = False
    for line in lines:
        at = as_utc(line.at)
        if seen.hides(at):
            if not hiding:
                entries.append(ChatEntry(author="system", text=HIDDEN_TEXT, at=at.isoformat()))
            hiding = True
            continue
        hiding = False
        entries.append(_entry(line, at))
    return entries


def _entry(line: LoggedMessage, at: datetime) -> ChatEntry:
    entry = ChatEntry(author=line.author, text=line.text, at=at.isoformat())  # type: ignore[typeddict-item]
    if line.buttons:
        entry["buttons"] = [ButtonFrame(title=b["title"]) for b in line.buttons]
    return entry
