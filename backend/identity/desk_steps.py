"""The database side of identity verification: each method is one short step.

`IdentityDesk` (backend/identity/verification.py) runs every method here through `DbWork`
(backend/db/work.py), in a worker thread with a session of its own (passed last), and awaits
the EHR and the SMS provider only between steps: no connection is held while they answer.
A step that changes anything commits before it returns.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Conversation, IdentityChallenge, as_utc
from backend.hub.keywords import PHONE_CHANNELS

from . import attempts
from .access import VerifiedIdentity, end_verification, record_verification, verified_identity
from .phones import to_e164
from .steps import NameRequired, Outcome, Policy


@dataclass(frozen=True)
class ConversationFacts:
    id: str
    channel: str
    sender_phone: str | None  # E.164, SMS and WhatsApp only


@dataclass(frozen=True)
class CodeCheck:
    """What `check_code` found. `outcome` None: the right code, still to be used
    (`use_code`); otherwise the step's answer (LOCKED, EXPIRED, NO_PENDING, WRONG_CODE)."""

    outcome: Outcome | None
    keys: list[str]
    patient_id: str | None = None
    code_hash: str = ""
    locked_now: bool = False  # the wrong code locked a key
    attempts_left: int = 0


class DeskSteps:
    """The verification's reads and writes, a step each (the session comes last)."""

    def __init__(self, *, cipher: Cipher, policy: Policy) -> None:
        self._cipher = cipher
        self._policy = policy

    def conversation(self, conversation_id: str, session: Session) -> ConversationFacts:
        row = session.get(Conversation, conversation_id)
        if row is None:
            raise UnknownConversation(conversation_id)
        sender = None
        if row.channel in PHONE_CHANNELS:
            address = self._cipher.decrypt(row.address_ciphertext)
            sender = to_e164(address, region=self._policy.region)
        return ConversationFacts(row.id, row.channel, sender)

    def status(
        self, conversation_id: str, now: datetime, session: Session
    ) -> tuple[ConversationFacts, VerifiedIdentity | None, str | None, bool]:
        """(conversation, live verification, what is awaited, locked)."""
        conversation = self.conversation(conversation_id, session)
        identity = verified_identity(
            session=session,
            cipher=self._cipher,
            conversation_id=conversation_id,
            idle=self._policy.idle,
            now=now,
        )
        challenge = session.get(IdentityChallenge, conversation_id)
        awaiting = self.awaiting(challenge, now)
        locked = self._log(session, now).locked(self.keys(conversation, challenge))
        return conversation, identity, awaiting, locked

    def open_start(
        self, conversation_id: str, family: str | None, now: datetime, session: Session
    ) -> tuple[ConversationFacts, Outcome | None]:
        """Count a start and drop any earlier challenge; or why not (LOCKED, RATE_LIMITED)."""
        conversation = self.conversation(conversation_id, session)
        if conversation.sender_phone is None and not (family and family.strip()):
            raise NameRequired("family name required on this channel")
        log = self._log(session, now)
        if log.locked(self.keys(conversation, None)):
            return conversation, Outcome.LOCKED
        if not log.may_start(attempts.conversation_key(conversation_id)):
            return conversation, Outcome.RATE_LIMITED
        log.started(attempts.conversation_key(conversation_id))
        self._delete_challenge(session, conversation_id)
        session.commit()
        return conversation, None

    def offer_choice(
        self, conversation_id: str, patient_ids: list[str], now: datetime, session: Session
    ) -> None:
        session.add(
            IdentityChallenge(
                conversation_id=conversation_id,
                candidates_ciphertext=self._cipher.encrypt(json.dumps(patient_ids)),
                created_at=now,
            )
        )
        session.commit()

    def pending_choice(
        self, conversation_id: str, now: datetime, session: Session
    ) -> tuple[ConversationFacts, list[str] | None]:
        """(conversation, the patient ids offered), None when no choice is awaited."""
        conversation = self.conversation(conversation_id, session)
        challenge = session.get(IdentityChallenge, conversation_id)
        if self.awaiting(challenge, now) != "choice" or challenge is None:
            return conversation, None
        return conversation, json.loads(self._cipher.decrypt(challenge.candidates_ciphertext))

    def store_code(
        self,
        conversation: ConversationFacts,
        patient_id: str,
        on_file_key: str,
        code: str,
        now: datetime,
        session: Session,
    ) -> str | None:
        """Record the code about to be sent; or why not: "phone_limited" (the number on file
        is locked or has had its codes) or "rate_limited" (this conversation's numbers)."""
        keys = list(dict.fromkeys([*self.keys(conversation, None), on_file_key]))
        log = self._log(session, now)
        if log.locked([on_file_key]) or not log.may_send_code([on_file_key]):
            session.rollback()
            return "phone_limited"
        if not log.may_send_code(keys):
            session.rollback()
            return "rate_limited"
        log.code_sent(keys)
        self._delete_challenge(session, conversation.id)
        session.add(
            IdentityChallenge(
                conversation_id=conversation.id,
                candidates_ciphertext=self._cipher.encrypt(json.dumps([patient_id])),
                patient_ciphertext=self._cipher.encrypt(patient_id),
                phone_key=on_file_key,
                code_hash=self.code_hash(conversation.id, code),
                code_expires_at=now + self._policy.code_ttl,
                created_at=now,
            )
        )
        session.commit()
        return None

    def check_code(
        self, conversation_id: str, code: str, now: datetime, session: Session
    ) -> tuple[ConversationFacts, CodeCheck]:
        """Compare the typed code with the pending one; a wrong one counts as a failure."""
        conversation = self.conversation(conversation_id, session)
        challenge = session.get(IdentityChallenge, conversation_id)
        keys = self.keys(conversation, challenge)
        log = self._log(session, now)
        if log.locked(keys):
            return conversation, CodeCheck(Outcome.LOCKED, keys)
        if challenge is None or self.awaiting(challenge, now) != "code":
            expired = challenge is not None and challenge.code_hash is not None
            if challenge is not None and expired:
                challenge.code_hash = None
                session.commit()
            return conversation, CodeCheck(Outcome.EXPIRED if expired else Outcome.NO_PENDING, keys)
        code_hash = challenge.code_hash or ""
        patient_id = self._cipher.decrypt(challenge.patient_ciphertext or "")
        if hmac.compare_digest(code_hash, self.code_hash(conversation_id, code)):
            return conversation, CodeCheck(None, keys, patient_id, code_hash)
        locked = log.fail(keys)
        if locked:
            challenge.code_hash = None  # after a lockout the patient starts again
        left = self._attempts_left(session, conversation_id, now)
        session.commit()
        return conversation, CodeCheck(
            Outcome.WRONG_CODE, keys, patient_id, locked_now=locked, attempts_left=left
        )

    def use_code(
        self,
        conversation_id: str,
        checked: CodeCheck,
        patient_id: str,
        dependants: frozenset[str],
        now: datetime,
        session: Session,
    ) -> bool:
        """Spend the code and verify the conversation; False when the same code was used a
        moment ago (by a concurrent request)."""
        used = session.execute(
            delete(IdentityChallenge).where(
                IdentityChallenge.conversation_id == conversation_id,
                IdentityChallenge.code_hash == checked.code_hash,
            )
        )
        if not used.rowcount:  # type: ignore[attr-defined]
            session.rollback()
            return False
        self._log(session, now).succeed(checked.keys)
        session.commit()
        record_verification(
            session=session,
            cipher=self._cipher,
            conversation_id=conversation_id,
            patient_id=patient_id,
            dependants=dependants,
            now=now,
        )
        return True

    def end(self, conversation_id: str, now: datetime, session: Session) -> tuple[str | None, bool]:
        """End the verification and any code in flight: (patient it was, whether there was
        a verification)."""
        self.conversation(conversation_id, session)
        identity = verified_identity(
            session=session,
            cipher=self._cipher,
            conversation_id=conversation_id,
            idle=self._policy.idle,
            now=now,
        )
        patient_id = identity.patient_id if identity is not None else None
        self._delete_challenge(session, conversation_id)
        session.commit()
        return patient_id, end_verification(session=session, conversation_id=conversation_id)

    def count_failure(
        self, conversation: ConversationFacts, now: datetime, session: Session
    ) -> bool:
        """A wrong birth date (or nobody): one failure; True when that locked a key."""
        locked = self._log(session, now).fail(self.keys(conversation, None))
        session.commit()
        return locked

    def drop_challenge(self, conversation_id: str, session: Session) -> None:
        self._delete_challenge(session, conversation_id)
        session.commit()

    # -- the parts -----------------------------------------------------------------------------

    def keys(
        self, conversation: ConversationFacts, challenge: IdentityChallenge | None
    ) -> list[str]:
        keys = [attempts.conversation_key(conversation.id)]
        if conversation.sender_phone is not None:
            keys.append(attempts.phone_key(self._cipher, conversation.sender_phone))
        if challenge is not None and challenge.phone_key and challenge.phone_key not in keys:
            keys.append(challenge.phone_key)
        return keys

    def awaiting(self, challenge: IdentityChallenge | None, now: datetime) -> str | None:
        if challenge is None:
            return None
        if challenge.code_hash is not None:
            expires = challenge.code_expires_at
            if expires is not None and as_utc(expires) > now:
                return "code"
            return None
        if as_utc(challenge.created_at) + self._policy.code_ttl > now:
            return "choice"
        return None

    def code_hash(self, conversation_id: str, code: str) -> str:
        return self._cipher.address_hash("identity-code", f"{conversation_id}:{code.strip()}")

    def _attempts_left(self, session: Session, conversation_id: str, now: datetime) -> int:
        key = attempts.conversation_key(conversation_id)
        used = self._log(session, now).failures_in_a_row(key)
        return max(self._policy.limits.max_failures - used, 0)

    def _log(self, session: Session, now: datetime) -> attempts.AttemptLog:
        return attempts.AttemptLog(session, self._policy.limits, now)

    @staticmethod
    def _delete_challenge(session: Session, conversation_id: str) -> None:
        session.execute(
            delete(IdentityChallenge).where(IdentityChallenge.conversation_id == conversation_id)
        )
