"""Who outreach can reach and on which conversation: filled when a conversation is verified.

Call `remember_contact` once a conversation is verified as a patient (the identity flow, or
the demo seed `python -m backend.outreach contact`). Patient ids are stored encrypted and
looked up by a keyed hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Conversation, OutreachContact, OutreachPause, utcnow

from .kinds import ALL_KINDS


class UnknownKind(ValueError):
    """A consent or pause names a message kind that does not exist."""

    def __init__(self, kinds: Iterable[str]) -> None:
        super().__init__(f"unknown outreach kind(s) {sorted(kinds)}; known: {list(ALL_KINDS)}")


@dataclass(frozen=True)
class Contact:
    """A patient outreach can reach, decrypted."""

    patient_id: str
    patient_hash: str
    conversation_id: str
    consents: frozenset[str]
    timezone: str | None


def patient_hash(cipher: Cipher, patient_id: str) -> str:
    """The lookup key of a FHIR Patient id (keyed: the id cannot be read back from it)."""
    return cipher.address_hash("patient", patient_id)


def remember_contact(
    *,
    session: Session,
    cipher: Cipher,
    patient_id: str,
    conversation_id: str,
    consents: Iterable[str] = ALL_KINDS,
    timezone: str | None = None,
) -> Contact:
    """Reach `patient_id` on `conversation_id` from now on, for the kinds consented to.

    The latest verified conversation wins: a patient who moves from SMS to Telegram is then
    reached on Telegram.
    """
    kinds = frozenset(consents)
    if unknown := kinds - set(ALL_KINDS):
        raise UnknownKind(unknown)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {timezone!r}") from exc
    if session.get(Conversation, conversation_id) is None:
        raise LookupError(f"no conversation {conversation_id}")
    key = patient_hash(cipher, patient_id)
    row = session.get(OutreachContact, key)
    if row is None:
        row = OutreachContact(patient_hash=key, patient_ciphertext=cipher.encrypt(patient_id))
        session.add(row)
    row.conversation_id = conversation_id
    row.consents = sorted(kinds)
    row.timezone = timezone
    row.updated_at = utcnow()
    session.commit()
    return Contact(patient_id, key, conversation_id, kinds, timezone)


def forget_contact(*, session: Session, cipher: Cipher, patient_id: str) -> bool:
    """Stop all outreach to the patient; False when there was none."""
    row = session.get(OutreachContact, patient_hash(cipher, patient_id))
    if row is None:
        return False
    session.delete(row)
    session.commit()
    return True


def contact_by_hash(*, session: Session, cipher: Cipher, key: str) -> Contact | None:
    row = session.get(OutreachContact, key)
    return _decrypted(cipher, row) if row is not None else None


def contacts_by_hash(
    *, session: Session, cipher: Cipher, keys: Iterable[str]
) -> dict[str, Contact]:
    """The contacts of these patient hashes (one query), by hash; unknown ones are absent."""
    wanted = sorted(set(keys))
    found: dict[str, Contact] = {}
    for start in range(0, len(wanted), 500):  # under every database's bind limit
        query = select(OutreachContact).where(
            OutreachContact.patient_hash.in_(wanted[start : start + 500])
        )
        for row in session.scalars(query):
            found[row.patient_hash] = _decrypted(cipher, row)
    return found


def all_contacts(*, session: Session, cipher: Cipher) -> list[Contact]:
    rows = session.scalars(select(OutreachContact).order_by(OutreachContact.updated_at)).all()
    return [_decrypted(cipher, row) for row in rows]


def set_paused(*, session: Session, kind: str, paused: bool) -> None:
    """Staff pause (or resume) one kind of message for everyone."""
    if kind not in ALL_KINDS:
        raise UnknownKind([kind])
    row = session.get(OutreachPause, kind)
    if paused and row is None:
        session.add(OutreachPause(kind=kind))
    elif not paused and row is not None:
        session.delete(row)
    session.commit()


def paused_kinds(*, session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(OutreachPause.kind)).all())


def _decrypted(cipher: Cipher, row: OutreachContact) -> Contact:
    return Contact(
        patient_id=cipher.decrypt(row.patient_ciphertext),
        patient_hash=row.patient_hash,
        conversation_id=row.conversation_id,
        consents=frozenset(row.consents or ()),
        timezone=row.timezone,
    )
