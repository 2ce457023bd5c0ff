"""Lockouts and rate limits of identity verification, per conversation and per phone number.

Every wrong birth date (or unknown person) and every wrong code is a failure; the
`max_failures`-th failure in a row locks the key for `lockout`. Failures before the latest
lock or success no longer count. Codes sent and verification starts are counted per hour.
Keys are "c:<conversation id>" or "p:<keyed hash of the E.164 number>": no number in clear.
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
CODE_SENT = "code_sent"
START = "start"
HOUR = timedelta(hours=1)


def conversation_key(conversation_id: str) -> str:
    return f"c:{conversation_id}"


def phone_key(cipher: Cipher, e164: str) -> str:
    return "p:" + cipher.address_hash("identity-phone", e164)


@dataclass(frozen=True)
class Limits:
    max_failures: int
    lockout: timedelta
    codes_per_hour: int
    starts_per_hour: int


class AttemptLog:
    """Reads and writes `identity_attempts` in the caller's session (the caller commits)."""

    def __init__(self, session: Session, limits: Limits, now: datetime) -> None:
        self._session = session
        self._limits = limits
        self._now = now

    def locked(self, keys: Iterable[str]) -> bool:
        since = self._now - self._limits.lockout
        return any(self._latest(key, LOCK, since) is not None for key in keys)

    def fail(self, keys: Iterable[str]) -> bool:
        """Count one failure on every key; True when that locked any of them."""
        locked = False
        for key in keys:
            self._add(key, FAILURE)
            if self.failures_in_a_row(key) >= self._limits.max_failures:
                self._add(key, LOCK)
                locked = True
        return locked

    def succeed(self, keys: Iterable[str]) -> None:
        """A verified patient: earlier failures on these keys are forgiven."""
        for key in keys:
            self._session.execute(
                delete(IdentityAttempt).where(
                    IdentityAttempt.key == key, IdentityAttempt.kind == FAILURE
                )
            )

    def may_send_code(self, keys: Iterable[str]) -> bool:
        return all(
            self._count(key, CODE_SENT, self._now - HOUR) < self._limits.codes_per_hour
            for key in keys
        )

    def code_sent(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._add(key, CODE_SENT)

    def may_start(self, key: str) -> bool:
        return self._count(key, START, self._now - HOUR) < self._limits.starts_per_hour

    def started(self, key: str) -> None:
        self._add(key, START)

    def failures_in_a_row(self, key: str) -> int:
        last_lock = self._latest(key, LOCK, datetime.min.replace(tzinfo=UTC))
        return self._count(key, FAILURE, last_lock or datetime.min.replace(tzinfo=UTC))

    def _add(self, key: str, kind: str) -> None:
        self._session.add(IdentityAttempt(key=key, kind=kind, at=self._now))
        self._session.flush()

    def _count(self, key: str, kind: str, since: datetime) -> int:
        query = select(func.count()).where(
            IdentityAttempt.key == key, IdentityAttempt.kind == kind, IdentityAttempt.at > since
        )
        return int(self._session.scalar(query) or 0)

    def _latest(self, key: str, kind: str, since: datetime) -> datetime | None:
        query = select(func.max(IdentityAttempt.at)).where(
            IdentityAttempt.key == key, IdentityAttempt.kind == kind, IdentityAttempt.at > since
        )
        return self._session.scalar(query)
