"""Lockouts and rate limits of identity verification: per conversation, per source, and the
watch kept over each patient's phone on file.

Three kinds of key, none holding a number or an address in clear:
- "c:<conversation id>": the conversation (the challenge);
- "p:<keyed hash of an E.164 number>": a phone, either as the *source* of an SMS/WhatsApp
  conversation or as the *target* (the phone on file a code goes to);
- "s:<keyed hash>": any other source (a Telegram user, a REST or web chat client address).

Failures and locks are only ever written on the requester's keys (conversation and source):
a stranger's wrong codes lock the stranger, never the patient's phone. What a stranger does
against a patient is written on the target key under its own kinds (`TARGET_CODE`,
`TARGET_FAILURE`, `ALERT`), which lock nobody: enough of them raise an alert and pause codes
to that phone from other sources (backend/identity/target_watch.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import IdentityAttempt

FAILURE = "failure"
LOCK = "lock"
CODE_SENT = "code_sent"  # a code answer given (sent, or not when nothing matched)
START = "start"
TARGET_CODE = "target_code"  # a code sent to this phone on file from another source
TARGET_FAILURE = "target_fail"  # a wrong code typed for a code sent to this phone
ALERT = "alert"  # the care team was alerted about this phone; codes paused
HOUR = timedelta(hours=1)
_EPOCH = datetime.min.replace(tzinfo=UTC)


def conversation_key(conversation_id: str) -> str:
    return f"c:{conversation_id}"


def phone_key(cipher: Cipher, e164: str) -> str:
    return "p:" + cipher.address_hash("identity-phone", e164)


def source_key(cipher: Cipher, kind: str, value: str) -> str:
    """A non-phone source: `kind` says what `value` is ("telegram", "client")."""
    return "s:" + cipher.address_hash(f"identity-source-{kind}", value)


@dataclass(frozen=True)
class Limits:
    max_failures: int  # wrong codes in a row that lock a conversation
    lockout: timedelta
    codes_per_hour: int  # per conversation (and per sending phone)
    starts_per_hour: int  # per conversation
    source_max_failures: int  # wrong codes in a row that lock a source
    source_starts_per_hour: int
    target_alert_after: int  # codes + wrong codes against one phone on file, per hour
    target_pause: timedelta


class AttemptLog:
    """Reads and writes `identity_attempts` in the caller's session (the caller commits)."""

    def __init__(self, session: Session, limits: Limits, now: datetime) -> None:
        self._session = session
        self._limits = limits
        self._now = now

    def locked(self, keys: Iterable[str]) -> bool:
        since = self._now - self._limits.lockout
        return any(self._latest(key, LOCK, since) is not None for key in keys)

    def fail(self, key: str, *, max_failures: int) -> bool:
        """Count one failure on `key`; True when that locked it."""
        self._add(key, FAILURE)
        if self.failures_in_a_row(key) >= max_failures:
            self._add(key, LOCK)
            return True
        return False

    def succeed(self, keys: Iterable[str]) -> None:
        """A verified patient: earlier failures on these keys are forgiven."""
        for key in keys:
            self._session.execute(
                delete(IdentityAttempt).where(
                    IdentityAttempt.key == key, IdentityAttempt.kind == FAILURE
                )
            )

    def within_hour(self, key: str, kind: str, limit: int) -> bool:
        return self.count(key, kind, self._now - HOUR) < limit

    def record(self, keys: Iterable[str], kind: str) -> None:
        for key in keys:
            self._add(key, kind)

    def failures_in_a_row(self, key: str) -> int:
        last_lock = self._latest(key, LOCK, _EPOCH)
        return self.count(key, FAILURE, last_lock or _EPOCH)

    def count(self, key: str, kind: str, since: datetime) -> int:
        query = select(func.count()).where(
            IdentityAttempt.key == key, IdentityAttempt.kind == kind, IdentityAttempt.at > since
        )
        return int(self._session.scalar(query) or 0)

    def latest(self, key: str, kind: str, since: datetime) -> datetime | None:
        return self._latest(key, kind, since)

    def forget_one(self, key: str, kind: str) -> None:
        """Drop the newest `kind` row of `key` (a code the patient went on to use)."""
        newest = self._session.scalar(
            select(IdentityAttempt.id)
            .where(IdentityAttempt.key == key, IdentityAttempt.kind == kind)
            .order_by(IdentityAttempt.at.desc(), IdentityAttempt.id.desc())
            .limit(1)
        )
        if newest is not None:
            self._session.execute(delete(IdentityAttempt).where(IdentityAttempt.id == newest))

    def _add(self, key: str, kind: str) -> None:
        self._session.add(IdentityAttempt(key=key, kind=kind, at=self._now))
        self._session.flush()

    def _latest(self, key: str, kind: str, since: datetime) -> datetime | None:
        query = select(func.max(IdentityAttempt.at)).where(
            IdentityAttempt.key == key, IdentityAttempt.kind == kind, IdentityAttempt.at > since
        )
        return self._session.scalar(query)
