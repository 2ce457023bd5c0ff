"""The one place that decides whose data a conversation may see.

Every internal route that reads or writes patient data calls `require_subject` with the
conversation id it was given; the action server never names a patient it has not been given
by the backend, and the backend re-checks it here on every call (no IDOR by construction).

A verification lasts while the patient keeps talking: any gap longer than the idle limit
between the verification, the patient's later messages and now ends it. The gaps are read
from the message log, so the hub needs no extra write per message.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import IdentityVerification, Message, as_utc, utcnow

DEFAULT_IDLE = timedelta(minutes=30)
# Where the configured idle limit (IDENTITY_IDLE_MINUTES) travels: the session factory's
# `info`, set once in backend/services.py, so every route's `require_subject` honours it.
IDLE_INFO_KEY = "identity_idle"


def configure_idle(session_factory: sessionmaker[Session], idle: timedelta) -> None:
    """Make `idle` the limit for every session the factory makes (unless a call passes one)."""
    session_factory.configure(info={**session_factory.kw.get("info", {}), IDLE_INFO_KEY: idle})


class AccessDenied(Exception):
    """Base of the refusals; `code` is what the internal API answers (403)."""

    code = "access_denied"


class NotVerified(AccessDenied):
    code = "not_verified"


class NotInCare(AccessDenied):
    """The conversation is verified, but not as this patient or their guardian."""

    code = "not_in_care"


@dataclass(frozen=True)
class VerifiedIdentity:
    conversation_id: str
    patient_id: str  # the FHIR Patient the conversation is verified as
    dependants: frozenset[str]  # children registered with this patient as guardian
    verified_at: datetime

    def may_act_for(self, patient_id: str) -> bool:
        return patient_id == self.patient_id or patient_id in self.dependants


def record_verification(
    *,
    session: Session,
    cipher: Cipher,
    conversation_id: str,
    patient_id: str,
    dependants: frozenset[str] | set[str] | tuple[str, ...] = (),
    now: datetime | None = None,
) -> VerifiedIdentity:
    """Mark the conversation as verified (replacing any earlier verification) and commit."""
    at = now or utcnow()
    row = session.get(IdentityVerification, conversation_id)
    if row is None:
        row = IdentityVerification(conversation_id=conversation_id)
        session.add(row)
    row.patient_ciphertext = cipher.encrypt(patient_id)
    row.dependants_ciphertext = cipher.encrypt(json.dumps(sorted(dependants)))
    row.verified_at = at
    session.commit()
    return VerifiedIdentity(conversation_id, patient_id, frozenset(dependants), at)


def verified_identity(
    *,
    session: Session,
    cipher: Cipher,
    conversation_id: str,
    idle: timedelta | None = None,
    now: datetime | None = None,
) -> VerifiedIdentity | None:
    """The conversation's live verification, or None (never verified, ended or gone idle).

    `idle` defaults to the limit configured on the session factory (`configure_idle`), else
    DEFAULT_IDLE."""
    row = session.get(IdentityVerification, conversation_id)
    if row is None:
        return None
    verified_at = as_utc(row.verified_at)
    limit = idle or session.info.get(IDLE_INFO_KEY, DEFAULT_IDLE)
    if _idle_since(session, conversation_id, verified_at, now or utcnow()) > limit:
        end_verification(session=session, conversation_id=conversation_id)
        return None
    return VerifiedIdentity(
        conversation_id=conversation_id,
        patient_id=cipher.decrypt(row.patient_ciphertext),
        dependants=frozenset(json.loads(cipher.decrypt(row.dependants_ciphertext))),
        verified_at=verified_at,
    )


def require_subject(
    *,
    session: Session,
    cipher: Cipher,
    conversation_id: str,
    for_patient: str | None = None,
    idle: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """The FHIR Patient id this call may act on: the verified patient, or one of their
    dependants when `for_patient` names one. Raises NotVerified or NotInCare otherwise."""
    identity = verified_identity(
        session=session, cipher=cipher, conversation_id=conversation_id, idle=idle, now=now
    )
    if identity is None:
        raise NotVerified(conversation_id)
    subject = for_patient or identity.patient_id
    if not identity.may_act_for(subject):
        raise NotInCare(conversation_id)
    return subject


def end_verification(*, session: Session, conversation_id: str) -> bool:
    """Forget the verification at once ("log out", "forget me", idle). True if there was one."""
    result = session.execute(
        delete(IdentityVerification).where(IdentityVerification.conversation_id == conversation_id)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _idle_since(
    session: Session, conversation_id: str, verified_at: datetime, now: datetime
) -> timedelta:
    """The longest silence from the patient between the verification and now."""
    inbound = session.scalars(
        select(Message.created_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "in",
            Message.created_at >= verified_at,
        )
        .order_by(Message.id)
    ).all()
    moments = [verified_at, *(as_utc(at) for at in inbound), now]
    return max(later - earlier for earlier, later in itertools.pairwise(moments))
