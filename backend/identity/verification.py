"""Verifying that a conversation is a given patient: who they say they are, then a code.

1. `start`: on SMS and WhatsApp the sender's number narrows the candidates (it is a hint, not
   proof) and the birth date picks among them; on web chat, REST and Telegram the patient's
   name and birth date find them. Nobody found, a wrong birth date, or nobody with a phone on
   file all take the same path and give the same answer (`not_confirmed`), so the answer never
   says whether someone is a patient.
2. Several people left (a family on one phone with the same birth date): `choose` by initials.
3. A 6-digit code goes by SMS to the phone on file in the EHR (never to the sender's number
   unless it is the one on file); only its keyed hash is stored; it lasts `code_ttl` and works
   once. `confirm` checks it; the right code verifies the conversation as the patient, with
   the children in their care (backend/identity/family.py).

Wrong birth dates and wrong codes count towards a lockout per conversation and per phone
(backend/identity/attempts.py). Every step is audited (backend/identity/audit.py), locally
first and as a FHIR AuditEvent when the EHR answers. Nothing here logs a name, a number, a
birth date or a code.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Conversation, IdentityChallenge, as_utc, utcnow
from backend.ehr import Ehr
from backend.ehr.domain import PatientSummary
from backend.ehr.errors import EhrError, NotFound
from backend.hub.keywords import PHONE_CHANNELS
from backend.hub.outbound import PhoneOutbound

from . import attempts
from .access import end_verification, record_verification, verified_identity
from .audit import mirror_to_ehr, record_access
from .family import dependants_of, initials
from .phones import to_e164
from .steps import (
    Dependant,
    IdentityUnavailable,
    NameRequired,
    Outcome,
    Policy,
    Status,
    Step,
)

CODE_DIGITS = 6


@dataclass(frozen=True)
class _Conversation:
    id: str
    channel: str
    sender_phone: str | None  # E.164, SMS and WhatsApp only


class IdentityDesk:
    """The verification steps behind /internal/identity (one instance per request is fine)."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        cipher: Cipher,
        ehr: Ehr,
        phone: PhoneOutbound | None,
        policy: Policy,
        clock: Callable[[], datetime] = utcnow,
        ehr_timeout_s: float = 2.0,
    ) -> None:
        self._sessions = session_factory
        self._cipher = cipher
        self._ehr = ehr
        self._phone = phone
        self._policy = policy
        self._clock = clock
        self._ehr_timeout_s = ehr_timeout_s

    # -- the steps -----------------------------------------------------------------------------

    async def status(self, conversation_id: str) -> Status:
        now = self._clock()
        conversation = self._conversation(conversation_id)
        with self._sessions() as session:
            identity = verified_identity(
                session=session,
                cipher=self._cipher,
                conversation_id=conversation_id,
                idle=self._policy.idle,
                now=now,
            )
            challenge = session.get(IdentityChallenge, conversation_id)
            awaiting = self._awaiting(challenge, now)
            locked = self._log(session, now).locked(self._keys(conversation, challenge))
        dependants: tuple[Dependant, ...] = ()
        if identity is not None and identity.dependants:
            children = [await self._patient(pid) for pid in sorted(identity.dependants)]
            dependants = tuple(Dependant(c.id, c.given) for c in children if c is not None)
        return Status(
            verified=identity is not None,
            identifies_by="phone" if conversation.sender_phone else "name",
            awaiting=None if identity is not None else awaiting,
            locked=locked,
            dependants=dependants,
        )

    async def start(
        self,
        conversation_id: str,
        *,
        birth_date: date,
        family: str | None = None,
        given: str | None = None,
    ) -> Step:
        """Who the patient says they are; sends the code when exactly one person fits."""
        now = self._clock()
        conversation = self._conversation(conversation_id)
        if conversation.sender_phone is None and not (family and family.strip()):
            raise NameRequired("family name required on this channel")
        keys = self._keys(conversation, None)
        with self._sessions() as session:
            log = self._log(session, now)
            if log.locked(keys):
                return self._refused(conversation_id, Outcome.LOCKED, "start")
            if not log.may_start(attempts.conversation_key(conversation_id)):
                return self._refused(conversation_id, Outcome.RATE_LIMITED, "start")
            log.started(attempts.conversation_key(conversation_id))
            session.execute(
                delete(IdentityChallenge).where(
                    IdentityChallenge.conversation_id == conversation_id
                )
            )
            session.commit()
        candidates = await self._candidates(conversation, birth_date, family, given)
        if not candidates:
            return await self._not_confirmed(conversation, None, "no_match", now)
        if len(candidates) > 1:
            with self._sessions() as session:
                session.add(
                    IdentityChallenge(
                        conversation_id=conversation_id,
                        candidates_ciphertext=self._cipher.encrypt(
                            json.dumps([c.id for c in candidates])
                        ),
                        created_at=now,
                    )
                )
                session.commit()
            self._audit(conversation_id, None, "identity.choose", "success", "several")
            return Step(Outcome.CHOOSE, options=tuple(initials(c) for c in candidates))
        return await self._send_code(conversation, candidates[0], now)

    async def choose(self, conversation_id: str, option: int) -> Step:
        """The patient picked themselves (1-based) from the initials offered."""
        now = self._clock()
        conversation = self._conversation(conversation_id)
        with self._sessions() as session:
            challenge = session.get(IdentityChallenge, conversation_id)
            if self._awaiting(challenge, now) != "choice" or challenge is None:
                return Step(Outcome.NO_PENDING)
            ids: list[str] = json.loads(self._cipher.decrypt(challenge.candidates_ciphertext))
        if not 1 <= option <= len(ids):
            return Step(Outcome.NO_PENDING)
        patient = await self._patient(ids[option - 1])
        if patient is None:
            return await self._not_confirmed(conversation, None, "gone", now)
        return await self._send_code(conversation, patient, now)

    async def confirm(self, conversation_id: str, code: str) -> Step:
        """The code the patient typed: verifies the conversation when it is the right one."""
        now = self._clock()
        conversation = self._conversation(conversation_id)
        with self._sessions() as session:
            challenge = session.get(IdentityChallenge, conversation_id)
            keys = self._keys(conversation, challenge)
            log = self._log(session, now)
            if log.locked(keys):
                return self._refused(conversation_id, Outcome.LOCKED, "verify")
            if challenge is None or self._awaiting(challenge, now) != "code":
                expired = challenge is not None and challenge.code_hash is not None
                if challenge is not None and expired:
                    challenge.code_hash = None
                    session.commit()
                self._audit(conversation_id, None, "identity.verify", "failure", "expired_or_none")
                return Step(Outcome.EXPIRED if expired else Outcome.NO_PENDING)
            code_hash = challenge.code_hash or ""
            patient_id = self._cipher.decrypt(challenge.patient_ciphertext or "")
            if not hmac.compare_digest(code_hash, self._code_hash(conversation_id, code)):
                locked = log.fail(keys)
                if locked:
                    challenge.code_hash = None  # after a lockout the patient starts again
                left = self._attempts_left(session, conversation_id, now)
                session.commit()
                self._audit(conversation_id, patient_id, "identity.verify", "failure", "code")
                await self._mirror("identity.verify", False, patient_id)
                if locked:
                    return self._locked_step()
                return Step(Outcome.WRONG_CODE, attempts_left=left)
        patient = await self._patient(patient_id)
        if patient is None:
            return await self._not_confirmed(conversation, None, "gone", now)
        children = await self._dependants(patient, now)
        with self._sessions() as session:
            used = session.execute(
                delete(IdentityChallenge).where(
                    IdentityChallenge.conversation_id == conversation_id,
                    IdentityChallenge.code_hash == code_hash,
                )
            )
            if not used.rowcount:  # type: ignore[attr-defined]
                session.rollback()
                return Step(Outcome.NO_PENDING)  # the same code, already used a moment ago
            self._log(session, now).succeed(keys)
            session.commit()
            record_verification(
                session=session,
                cipher=self._cipher,
                conversation_id=conversation_id,
                patient_id=patient.id,
                dependants=frozenset(c.id for c in children),
                now=now,
            )
        self._audit(conversation_id, patient.id, "identity.verify", "success", None)
        await self._mirror("identity.verify", True, patient.id)
        return Step(Outcome.VERIFIED, dependants=tuple(Dependant(c.id, c.given) for c in children))

    async def end(self, conversation_id: str) -> bool:
        """ "Log out" / "forget me": the verification and any code in flight end now."""
        self._conversation(conversation_id)
        with self._sessions() as session:
            patient_id = None
            identity = verified_identity(
                session=session,
                cipher=self._cipher,
                conversation_id=conversation_id,
                idle=self._policy.idle,
                now=self._clock(),
            )
            if identity is not None:
                patient_id = identity.patient_id
            session.execute(
                delete(IdentityChallenge).where(
                    IdentityChallenge.conversation_id == conversation_id
                )
            )
            session.commit()
            ended = end_verification(session=session, conversation_id=conversation_id)
        self._audit(conversation_id, patient_id, "identity.end", "success", None)
        if patient_id is not None:
            await self._mirror("identity.end", True, patient_id)
        return ended

    # -- the parts -----------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> _Conversation:
        with self._sessions() as session:
            row = session.get(Conversation, conversation_id)
            if row is None:
                raise UnknownConversation(conversation_id)
            sender = None
            if row.channel in PHONE_CHANNELS:
                address = self._cipher.decrypt(row.address_ciphertext)
                sender = to_e164(address, region=self._policy.region)
            return _Conversation(row.id, row.channel, sender)

    async def _candidates(
        self,
        conversation: _Conversation,
        birth_date: date,
        family: str | None,
        given: str | None,
    ) -> list[PatientSummary]:
        """Everyone who fits what the patient said and has a phone to receive the code."""
        try:
            if conversation.sender_phone is not None:
                found = [
                    p
                    for p in await self._ehr.find_patients_by_phone(conversation.sender_phone)
                    if p.birth_date == birth_date
                ]
                if given and given.strip():
                    found = [p for p in found if _given_matches(p, given)] or found
            else:
                found = await self._ehr.find_patients_by_name(
                    family=(family or "").strip(),
                    given=(given or "").strip() or None,
                    birth_date=birth_date,
                )
        except EhrError as exc:
            raise IdentityUnavailable(type(exc).__name__) from exc
        return [p for p in found if self._phone_on_file(p)]

    async def _send_code(
        self, conversation: _Conversation, patient: PatientSummary, now: datetime
    ) -> Step:
        on_file = self._phone_on_file(patient)
        if on_file is None or self._phone is None:
            return await self._not_confirmed(conversation, patient.id, "no_phone", now)
        on_file_key = attempts.phone_key(self._cipher, on_file)
        keys = list(dict.fromkeys([*self._keys(conversation, None), on_file_key]))
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        with self._sessions() as session:
            log = self._log(session, now)
            if log.locked([on_file_key]) or not log.may_send_code([on_file_key]):
                # Said as "could not confirm": "locked" would tell that this person exists.
                session.rollback()
                return await self._not_confirmed(
                    conversation, patient.id, "phone_limited", now, count=False
                )
            if not log.may_send_code(keys):
                session.rollback()
                return self._refused(conversation.id, Outcome.RATE_LIMITED, "code")
            log.code_sent(keys)
            session.execute(
                delete(IdentityChallenge).where(
                    IdentityChallenge.conversation_id == conversation.id
                )
            )
            session.add(
                IdentityChallenge(
                    conversation_id=conversation.id,
                    candidates_ciphertext=self._cipher.encrypt(json.dumps([patient.id])),
                    patient_ciphertext=self._cipher.encrypt(patient.id),
                    phone_key=on_file_key,
                    code_hash=self._code_hash(conversation.id, code),
                    code_expires_at=now + self._policy.code_ttl,
                    created_at=now,
                )
            )
            session.commit()
        minutes = int(self._policy.code_ttl.total_seconds() // 60)
        sent = await self._phone.send_sms_to_number(
            conversation_id=conversation.id,
            phone=on_file,
            body=(
                f"{self._policy.clinic_name}: your verification code is {code}. It expires in "
                f"{minutes} minutes. If you did not ask for it, you can ignore this message."
            ),
        )
        if not sent:
            self._drop_challenge(conversation.id)
            return await self._not_confirmed(conversation, patient.id, "not_sent", now, count=False)
        self._audit(conversation.id, patient.id, "identity.code_sent", "success", None)
        return Step(Outcome.CODE_SENT)

    async def _not_confirmed(
        self,
        conversation: _Conversation,
        patient_id: str | None,
        reason: str,
        now: datetime,
        *,
        count: bool = True,
    ) -> Step:
        """The one answer for "nobody like that" and "wrong birth date" (and no phone on file)."""
        locked = False
        if count:
            with self._sessions() as session:
                locked = self._log(session, now).fail(self._keys(conversation, None))
                session.commit()
        self._audit(conversation.id, patient_id, "identity.start", "failure", reason)
        await self._mirror("identity.start", False, None)
        return self._locked_step() if locked else Step(Outcome.NOT_CONFIRMED)

    def _refused(self, conversation_id: str, outcome: Outcome, stage: str) -> Step:
        self._audit(conversation_id, None, f"identity.{stage}", "denied", outcome.value)
        if outcome is Outcome.LOCKED:
            return self._locked_step()
        return Step(outcome, retry_after_minutes=60)

    def _locked_step(self) -> Step:
        minutes = int(self._policy.limits.lockout.total_seconds() // 60)
        return Step(Outcome.LOCKED, retry_after_minutes=minutes)

    def _attempts_left(self, session: Session, conversation_id: str, now: datetime) -> int:
        key = attempts.conversation_key(conversation_id)
        used = self._log(session, now).failures_in_a_row(key)
        return max(self._policy.limits.max_failures - used, 0)

    def _keys(self, conversation: _Conversation, challenge: IdentityChallenge | None) -> list[str]:
        keys = [attempts.conversation_key(conversation.id)]
        if conversation.sender_phone is not None:
            keys.append(attempts.phone_key(self._cipher, conversation.sender_phone))
        if challenge is not None and challenge.phone_key and challenge.phone_key not in keys:
            keys.append(challenge.phone_key)
        return keys

    def _awaiting(self, challenge: IdentityChallenge | None, now: datetime) -> str | None:
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

    def _log(self, session: Session, now: datetime) -> attempts.AttemptLog:
        return attempts.AttemptLog(session, self._policy.limits, now)

    def _code_hash(self, conversation_id: str, code: str) -> str:
        return self._cipher.address_hash("identity-code", f"{conversation_id}:{code.strip()}")

    def _phone_on_file(self, patient: PatientSummary) -> str | None:
        for raw in patient.phones:
            phone = to_e164(raw, region=self._policy.region)
            if phone:
                return phone
        return None

    def _drop_challenge(self, conversation_id: str) -> None:
        with self._sessions() as session:
            session.execute(
                delete(IdentityChallenge).where(
                    IdentityChallenge.conversation_id == conversation_id
                )
            )
            session.commit()

    async def _patient(self, patient_id: str) -> PatientSummary | None:
        try:
            return await self._ehr.get_patient(patient_id)
        except NotFound:
            return None
        except EhrError as exc:
            raise IdentityUnavailable(type(exc).__name__) from exc

    async def _dependants(self, patient: PatientSummary, now: datetime) -> list[PatientSummary]:
        try:
            return await dependants_of(
                self._ehr, patient, today=now.date(), region=self._policy.region
            )
        except EhrError as exc:
            raise IdentityUnavailable(type(exc).__name__) from exc

    def _audit(
        self,
        conversation_id: str,
        patient_id: str | None,
        action: str,
        outcome: str,
        detail: str | None,
    ) -> None:
        with self._sessions() as session:
            record_access(
                session=session,
                conversation_id=conversation_id,
                patient_id=patient_id,
                action=action,
                outcome=outcome,
                detail=detail,
            )

    async def _mirror(self, action: str, succeeded: bool, patient_id: str | None) -> None:
        await mirror_to_ehr(
            self._ehr,
            action=action,
            succeeded=succeeded,
            patient_id=patient_id,
            timeout_s=self._ehr_timeout_s,
        )


def _given_matches(patient: PatientSummary, given: str) -> bool:
    wanted = given.strip().casefold()
    return any(part.casefold().startswith(wanted) for part in patient.given.split())
