"""The database side of identity verification: each method is one short step.

`IdentityDesk` (backend/identity/verification.py) runs every method here through `DbWork`
(backend/db/work.py), in a worker thread with a session of its own (passed last), and awaits
the EHR and the SMS provider only between steps: no connection is held while they answer.
A step that changes anything commits before it returns.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Conversation, IdentityChallenge, as_utc

from . import attempts, target_watch
from .access import VerifiedIdentity, end_verification, record_verification, verified_identity
from .sources import sender_phone_of, source_of
from .steps import NameRequired, Outcome, Policy, TargetAlert


@dataclass(frozen=True)
class ConversationFacts:
    id: str
    channel: str
    sender_phone: str | None  # E.164, SMS and WhatsApp only
    source: str  # the source key (backend/identity/sources.py)

    @property
    def keys(self) -> list[str]:
        """The requester's keys: where failures, locks and limits are counted."""
        return [attempts.conversation_key(self.id), self.source]


@dataclass(frozen=True)
class CodeRequest:
    """What `store_code` did: `refused` "rate_limited", or a challenge stored (a real code
    to send when `send` is True) and perhaps an alert raised on the target."""

    refused: str | None = None
    send: bool = False
    withheld: str | None = None  # why no code goes out: a reason code for the audit
    alert: TargetAlert | None = None


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
    target: str | None = None  # the phone on file's key, when it is not the requester's own
    alert: TargetAlert | None = None


class DeskSteps:
    """The verification's reads and writes, a step each (the session comes last)."""

    def __init__(self, *, cipher: Cipher, policy: Policy) -> None:
        self._cipher = cipher
        self._policy = policy

    def conversation(self, conversation_id: str, session: Session) -> ConversationFacts:
        row = session.get(Conversation, conversation_id)
        if row is None:
            raise UnknownConversation(conversation_id)
        sender = sender_phone_of(self._cipher, row, self._policy.region)
        source = source_of(
            session=session, cipher=self._cipher, conversation=row, sender_phone=sender
        )
        return ConversationFacts(row.id, row.channel, sender, source)

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
        locked = self._log(session, now).locked(conversation.keys)
        return conversation, identity, awaiting, locked

    def open_start(
        self, conversation_id: str, family: str | None, now: datetime, session: Session
    ) -> tuple[ConversationFacts, Outcome | None]:
        """Count a start and drop any earlier challenge; or why not (LOCKED, RATE_LIMITED)."""
        conversation = self.conversation(conversation_id, session)
        if conversation.sender_phone is None and not (family and family.strip()):
            raise NameRequired("family name required on this channel")
        log = self._log(session, now)
        limits = self._policy.limits
        if log.locked(conversation.keys):
            return conversation, Outcome.LOCKED
        conversation_key, source = conversation.keys
        if not (
            log.within_hour(conversation_key, attempts.START, limits.starts_per_hour)
            and log.within_hour(source, attempts.START, limits.source_starts_per_hour)
        ):
            return conversation, Outcome.RATE_LIMITED
        log.record(conversation.keys, attempts.START)
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
        if self._log(session, now).locked(conversation.keys):
            return conversation, None  # a locked conversation chooses nobody
        return conversation, json.loads(self._cipher.decrypt(challenge.candidates_ciphertext))

    def store_code(
        self,
        conversation: ConversationFacts,
        patient_id: str | None,
        target: str | None,
        code: str,
        now: datetime,
        session: Session,
    ) -> CodeRequest:
        """Store the challenge the conversation now answers with a code: the real one when
        someone matched (`patient_id`, `target`: the phone on file's key) and codes to that
        phone are not paused; otherwise one that no code opens. Counted alike either way, so
        limits and lockouts never tell the two apart."""
        log = self._log(session, now)
        limits = self._policy.limits
        counted = conversation.keys if conversation.sender_phone else conversation.keys[:1]
        if not all(log.within_hour(k, attempts.CODE_SENT, limits.codes_per_hour) for k in counted):
            session.rollback()
            return CodeRequest(refused="rate_limited")
        log.record(counted, attempts.CODE_SENT)
        withheld = "no_match" if patient_id is None or target is None else None
        alert = None
        if withheld is None and target is not None and target != conversation.source:
            if target_watch.paused(log, target, limits, now):
                withheld = "target_paused"
            else:
                seen = target_watch.note(log, target, attempts.TARGET_CODE, limits, now)
                alert = self._alert(conversation.id, patient_id, seen)
        real = withheld is None
        self._delete_challenge(session, conversation.id)
        session.add(
            IdentityChallenge(
                conversation_id=conversation.id,
                candidates_ciphertext=self._cipher.encrypt(
                    json.dumps([patient_id] if real else [])
                ),
                patient_ciphertext=self._cipher.encrypt(patient_id)
                if real and patient_id
                else None,
                phone_key=target if real else None,
                # No code opens a challenge that sent none: its hash is of a random secret.
                code_hash=self.code_hash(conversation.id, code if real else secrets.token_hex(16)),
                code_expires_at=now + self._policy.code_ttl,
                created_at=now,
            )
        )
        session.commit()
        return CodeRequest(send=real, withheld=withheld, alert=alert)

    def check_code(
        self, conversation_id: str, code: str, now: datetime, session: Session
    ) -> tuple[ConversationFacts, CodeCheck]:
        """Compare the typed code with the pending one; a wrong one counts as a failure of the
        conversation and its source (never of the phone on file)."""
        conversation = self.conversation(conversation_id, session)
        challenge = session.get(IdentityChallenge, conversation_id)
        keys = conversation.keys
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
        patient_id = (
            self._cipher.decrypt(challenge.patient_ciphertext)
            if challenge.patient_ciphertext
            else None
        )
        target = challenge.phone_key if challenge.phone_key != conversation.source else None
        if hmac.compare_digest(code_hash, self.code_hash(conversation_id, code)):
            return conversation, CodeCheck(None, keys, patient_id, code_hash, target=target)
        limits = self._policy.limits
        conversation_key, source = keys
        locked = log.fail(conversation_key, max_failures=limits.max_failures)
        locked = log.fail(source, max_failures=limits.source_max_failures) or locked
        alert = None
        if target is not None and patient_id is not None:
            seen = target_watch.note(log, target, attempts.TARGET_FAILURE, limits, now)
            alert = self._alert(conversation_id, patient_id, seen)
        if locked:
            # The challenge ends with the lock: gone, not emptied (an emptied one would read
            # as a pending choice and offer its candidate again).
            self._delete_challenge(session, conversation_id)
        left = self._attempts_left(log, conversation)
        session.commit()
        return conversation, CodeCheck(
            Outcome.WRONG_CODE,
            keys,
            patient_id,
            locked_now=locked,
            attempts_left=left,
            target=target,
            alert=alert,
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
        log = self._log(session, now)
        log.succeed(checked.keys)
        if checked.target is not None:
            log.forget_one(checked.target, attempts.TARGET_CODE)  # that code was the patient's
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

    # -- the parts -----------------------------------------------------------------------------

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

    def _attempts_left(self, log: attempts.AttemptLog, conversation: ConversationFacts) -> int:
        """Tries left before the conversation or its source locks, whichever comes first."""
        limits = self._policy.limits
        conversation_key, source = conversation.keys
        return max(
            min(
                limits.max_failures - log.failures_in_a_row(conversation_key),
                limits.source_max_failures - log.failures_in_a_row(source),
            ),
            0,
        )

    def _alert(
        self, conversation_id: str, patient_id: str | None, seen: int | None
    ) -> TargetAlert | None:
        if seen is None or patient_id is None:
            return None
        minutes = int(self._policy.limits.target_pause.total_seconds() // 60)
        return TargetAlert(conversation_id, patient_id, seen, minutes)

    def _log(self, session: Session, now: datetime) -> attempts.AttemptLog:
        return attempts.AttemptLog(session, self._policy.limits, now)

    @staticmethod
    def _delete_challenge(session: Session, conversation_id: str) -> None:
        session.execute(
            delete(IdentityChallenge).where(IdentityChallenge.conversation_id == conversation_id)
        )
