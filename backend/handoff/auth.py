"""Clinician accounts and console sessions: argon2id passwords, hashed random session tokens.

A session ends at the first of: its absolute limit (`expires_at`, CLINICIAN_SESSION_HOURS),
`idle` without a clinician action (`last_seen_at`, CLINICIAN_SESSION_IDLE_MINUTES), sign-out,
or sign-out everywhere (every session row of the account deleted). The server keeps the
sessions, so deleting the rows is enough: a copied cookie is worthless from then on.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import Clinician, ClinicianSession, as_utc, utcnow
from backend.handoff.console_access import ROLES

MIN_PASSWORD_CHARS = 12
# `last_seen_at` is written at most this often: a clinician's every click need not be a write.
TOUCH_EVERY = timedelta(seconds=60)
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class WeakPassword(ValueError):
    """The password is too short; choose a longer one (a passphrase works well)."""

    def __init__(self, length: int) -> None:
        super().__init__(f"password has {length} characters; use at least {MIN_PASSWORD_CHARS}")
        self.length = length


class UnknownRole(ValueError):
    """Roles are `clinician` and `triage_lead` (backend/handoff/console_access.py)."""

    def __init__(self, role: str) -> None:
        super().__init__(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        self.role = role


class EmailTaken(ValueError):
    """An account with this email exists already."""

    def __init__(self, email: str) -> None:
        super().__init__(f"an account for {email} exists already")
        self.email = email


@dataclass(frozen=True)
class SignIn:
    """A new session: `token` goes in the cookie (it is stored only hashed)."""

    clinician: Clinician
    token: str
    expires_at: datetime


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(len(password))
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_clinician(
    *, session: Session, email: str, name: str, password: str, role: str = "clinician"
) -> Clinician:
    """A new, active console account."""
    if role not in ROLES:
        raise UnknownRole(role)
    clinician = Clinician(
        email=normalize_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    session.add(clinician)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise EmailTaken(clinician.email) from exc
    return clinician


def find_clinician(*, session: Session, email: str) -> Clinician | None:
    """The account with this email, active or not (for audits and administration)."""
    return session.scalars(
        select(Clinician).where(Clinician.email == normalize_email(email))
    ).first()


def authenticate(*, session: Session, email: str, password: str) -> Clinician | None:
    """The active clinician with these credentials, or None."""
    clinician = find_clinician(session=session, email=email)
    try:
        _hasher.verify(clinician.password_hash if clinician else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if clinician is None or not clinician.active:
        return None
    if _hasher.check_needs_rehash(clinician.password_hash):
        clinician.password_hash = _hasher.hash(password)
        session.commit()
    return clinician


def start_session(*, session: Session, clinician: Clinician, lifetime: timedelta) -> SignIn:
    """Sign the clinician in; expired sessions are swept on the way."""
    now = utcnow()
    session.execute(delete(ClinicianSession).where(ClinicianSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    session.add(
        ClinicianSession(
            token_hash=token_hash(token),
            clinician_id=clinician.id,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
        )
    )
    session.commit()
    return SignIn(clinician, token, expires_at)


def clinician_for_token(
    *, session: Session, token: str, idle: timedelta | None = None, touch: bool = True
) -> Clinician | None:
    """The active clinician whose live session this token is, or None.

    With `idle`, a session unused for longer ends here; `touch` counts this call as the
    clinician's action (False for timed refreshes and the event stream's checks)."""
    row = session.scalars(
        select(ClinicianSession).where(ClinicianSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    now = utcnow()
    last_seen = as_utc(row.last_seen_at or row.created_at)
    if as_utc(row.expires_at) <= now or (idle is not None and now - last_seen > idle):
        session.delete(row)
        session.commit()
        return None
    clinician = session.get(Clinician, row.clinician_id)
    if clinician is None or not clinician.active:
        return None
    if touch and now - last_seen >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return clinician


def end_session(*, session: Session, token: str) -> None:
    """Sign out: the session is deleted, so the cookie is worthless from now on."""
    session.execute(
        delete(ClinicianSession).where(ClinicianSession.token_hash == token_hash(token))
    )
    session.commit()


def end_all_sessions(*, session: Session, clinician_id: int) -> int:
    """Sign out everywhere: every session of the account ends; returns how many there were."""
    result = session.execute(
        delete(ClinicianSession).where(ClinicianSession.clinician_id == clinician_id)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
