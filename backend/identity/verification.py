"""Verifying that a conversation is a given patient: who they say they are, then a code.

1. `start`: on SMS and WhatsApp the sender's number narrows the candidates (it is a hint, not
   proof) and the birth date picks among them; on web chat, REST and Telegram the patient's
   name and birth date find them. Whatever matched, the answer is the same (`awaiting_code`:
   "if those details match our records, we've sent a code"), and the conversation then waits
   for a code: when nobody fitted (or nobody with a phone, or codes to that phone are paused)
   the challenge is one no code opens, so a code typed then is simply a wrong code.
2. Several people left on the family phone (same birth date): `choose` by initials. Only on
   SMS and WhatsApp, where the candidates are the sender's own household; on the name
   channels a choice would tell a stranger that matches exist, so no code is sent there.
3. A 6-digit code goes by SMS to the phone on file in the EHR (never to the sender's number
   unless it is the one on file); only its keyed hash is stored; it lasts `code_ttl` and works
   once. `confirm` checks it; the right code verifies the conversation as the patient, with
   the children in their care (backend/identity/family.py).

Wrong codes lock the conversation and its source (backend/identity/attempts.py, sources.py),
never the patient's phone; repeated attempts against one phone from elsewhere alert the care
team and pause codes to it (target_watch.py). Every step is audited (audit.py), locally first
and as a FHIR AuditEvent when the EHR answers. Nothing here logs a name, a number, a birth
date or a code.

The database is used in short steps (backend/identity/desk_steps.py) run by `DbWork` off the
event loop; the EHR and the SMS provider are awaited between them, never inside one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import utcnow
from backend.db.work import DbWork
from backend.ehr import Ehr
from backend.ehr.domain import PatientSummary
from backend.ehr.errors import EhrError, NotFound
from backend.hub.outbound import PhoneOutbound

from . import attempts
from .audit import mirror_to_ehr, record_access
from .desk_steps import CodeRequest, ConversationFacts, DeskSteps
from .family import dependants_of, initials
from .phones import to_e164
from .steps import (
    AlertSink,
    Dependant,
    IdentityUnavailable,
    Outcome,
    Policy,
    Status,
    Step,
    TargetAlert,
)

CODE_DIGITS = 6


class IdentityDesk:
    """The verification steps behind /internal/identity (one instance per request is fine)."""

    def __init__(
        self,
        *,
        db: DbWork,
        cipher: Cipher,
        ehr: Ehr,
        phone: PhoneOutbound | None,
        policy: Policy,
        clock: Callable[[], datetime] = utcnow,
        ehr_timeout_s: float = 2.0,
        alert: AlertSink | None = None,
    ) -> None:
        self._db = db
        self._steps = DeskSteps(cipher=cipher, policy=policy)
        self._cipher = cipher
        self._ehr = ehr
        self._phone = phone
        self._policy = policy
        self._clock = clock
        self._ehr_timeout_s = ehr_timeout_s
        self._alert_sink = alert

    # -- the steps -----------------------------------------------------------------------------

    async def status(self, conversation_id: str) -> Status:
        now = self._clock()
        conversation, identity, awaiting, locked = await self._db.run(
            partial(self._steps.status, conversation_id, now)
        )
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
        """Who the patient says they are; sends the code when exactly one person fits, and
        answers the same (`awaiting_code`) when nobody does."""
        now = self._clock()
        conversation, refused = await self._db.run(
            partial(self._steps.open_start, conversation_id, family, now)
        )
        if refused is not None:
            return await self._refused(conversation_id, refused, "start")
        candidates = await self._candidates(conversation, birth_date, family, given)
        if not candidates:
            return await self._code_answer(conversation, None, now, "no_match")
        if len(candidates) > 1 and conversation.sender_phone is None:
            # Off the phone channels a choice would confirm to anyone that matches exist.
            return await self._code_answer(conversation, None, now, "several")
        if len(candidates) > 1:
            ids = [c.id for c in candidates]
            await self._db.run(partial(self._steps.offer_choice, conversation_id, ids, now))
            await self._audit(conversation_id, None, "identity.choose", "success", "several")
            return Step(Outcome.CHOOSE, options=tuple(initials(c) for c in candidates))
        return await self._code_answer(conversation, candidates[0], now)

    async def choose(self, conversation_id: str, option: int) -> Step:
        """The patient picked themselves (1-based) from the initials offered."""
        now = self._clock()
        conversation, ids = await self._db.run(
            partial(self._steps.pending_choice, conversation_id, now)
        )
        if ids is None or not 1 <= option <= len(ids):
            return Step(Outcome.NO_PENDING)
        patient = await self._patient(ids[option - 1])
        return await self._code_answer(conversation, patient, now, "gone")

    async def confirm(self, conversation_id: str, code: str) -> Step:
        """The code the patient typed: verifies the conversation when it is the right one."""
        now = self._clock()
        _, checked = await self._db.run(partial(self._steps.check_code, conversation_id, code, now))
        if checked.outcome is Outcome.LOCKED:
            return await self._refused(conversation_id, Outcome.LOCKED, "verify")
        if checked.outcome in (Outcome.EXPIRED, Outcome.NO_PENDING):
            await self._audit(
                conversation_id, None, "identity.verify", "failure", "expired_or_none"
            )
            return Step(checked.outcome)
        if checked.outcome is Outcome.WRONG_CODE:
            patient_id = checked.patient_id
            await self._audit(conversation_id, patient_id, "identity.verify", "failure", "code")
            await self._mirror("identity.verify", False, patient_id)
            if checked.alert is not None:
                await self._raise_alert(checked.alert)
            if checked.locked_now:
                return self._locked_step()
            return Step(Outcome.WRONG_CODE, attempts_left=checked.attempts_left)
        patient = await self._patient(checked.patient_id or "")
        if patient is None:  # the right code, for a record deleted since: nothing to verify
            await self._audit(conversation_id, None, "identity.verify", "failure", "gone")
            return Step(Outcome.NOT_CONFIRMED)
        children = await self._dependants(patient, now)
        dependants = frozenset(c.id for c in children)
        if not await self._db.run(
            partial(self._steps.use_code, conversation_id, checked, patient.id, dependants, now)
        ):
            return Step(Outcome.NO_PENDING)  # the same code, already used a moment ago
        await self._audit(conversation_id, patient.id, "identity.verify", "success", None)
        await self._mirror("identity.verify", True, patient.id)
        return Step(Outcome.VERIFIED, dependants=tuple(Dependant(c.id, c.given) for c in children))

    async def end(self, conversation_id: str) -> bool:
        """ "Log out" / "forget me": the verification and any code in flight end now."""
        patient_id, ended = await self._db.run(
            partial(self._steps.end, conversation_id, self._clock())
        )
        await self._audit(conversation_id, patient_id, "identity.end", "success", None)
        if patient_id is not None:
            await self._mirror("identity.end", True, patient_id)
        return ended

    # -- the parts -----------------------------------------------------------------------------

    async def _candidates(
        self,
        conversation: ConversationFacts,
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

    async def _code_answer(
        self,
        conversation: ConversationFacts,
        patient: PatientSummary | None,
        now: datetime,
        no_patient: str = "no_match",
    ) -> Step:
        """The one answer to a start (or a choice): a code goes out when `patient` has a phone
        on file and codes to it are not paused; the answer and what follows are the same."""
        on_file = self._phone_on_file(patient) if patient is not None else None
        if self._phone is None:
            on_file = None  # nowhere to send from: nobody can be sent a code
        target = attempts.phone_key(self._cipher, on_file) if on_file else None
        patient_id = patient.id if patient is not None and target is not None else None
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        request: CodeRequest = await self._db.run(
            partial(self._steps.store_code, conversation, patient_id, target, code, now)
        )
        if request.refused is not None:
            return await self._refused(conversation.id, Outcome.RATE_LIMITED, "code")
        if request.alert is not None:
            await self._raise_alert(request.alert)
        withheld = request.withheld
        if withheld == "no_match" and patient is not None:
            withheld = "no_phone"
        elif withheld == "no_match":
            withheld = no_patient
        if request.send and on_file and self._phone is not None:
            sent = await self._phone.send_sms_to_number(
                conversation_id=conversation.id, phone=on_file, body=self._code_text(code)
            )
            withheld = None if sent else "not_sent"  # the stored code then reaches nobody
        if withheld is None:
            await self._audit(conversation.id, patient_id, "identity.code_sent", "success", None)
            return Step(Outcome.AWAITING_CODE)
        audited_patient = patient.id if patient is not None else None
        await self._audit(conversation.id, audited_patient, "identity.start", "failure", withheld)
        await self._mirror("identity.start", False, None)
        return Step(Outcome.AWAITING_CODE)

    def _code_text(self, code: str) -> str:
        minutes = int(self._policy.code_ttl.total_seconds() // 60)
        return (
            f"{self._policy.clinic_name}: your verification code is {code}. It expires in "
            f"{minutes} minutes. If you did not ask for it, you can ignore this message."
        )

    async def _raise_alert(self, alert: TargetAlert) -> None:
        """Repeated attempts against one patient: audited here and in the EHR, then the care
        team is told (the sink opens a hand-off); codes to that phone are already paused."""
        detail = f"attempts={alert.attempts_last_hour};paused_min={alert.codes_paused_minutes}"
        await self._audit(
            alert.conversation_id, alert.patient_id, "identity.alert", "denied", detail
        )
        await self._mirror("identity.alert", False, alert.patient_id)
        if self._alert_sink is not None:
            await self._alert_sink(alert)

    async def _refused(self, conversation_id: str, outcome: Outcome, stage: str) -> Step:
        await self._audit(conversation_id, None, f"identity.{stage}", "denied", outcome.value)
        if outcome is Outcome.LOCKED:
            return self._locked_step()
        return Step(outcome, retry_after_minutes=60)

    def _locked_step(self) -> Step:
        minutes = int(self._policy.limits.lockout.total_seconds() // 60)
        return Step(Outcome.LOCKED, retry_after_minutes=minutes)

    def _phone_on_file(self, patient: PatientSummary) -> str | None:
        for raw in patient.phones:
            phone = to_e164(raw, region=self._policy.region)
            if phone:
                return phone
        return None

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

    async def _audit(
        self,
        conversation_id: str,
        patient_id: str | None,
        action: str,
        outcome: str,
        detail: str | None,
    ) -> None:
        def write(session: Session) -> None:
            record_access(
                session=session,
                conversation_id=conversation_id,
                patient_id=patient_id,
                action=action,
                outcome=outcome,
                detail=detail,
            )

        await self._db.run(write)

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
