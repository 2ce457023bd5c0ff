"""Identity verification for the action server (service token; the conversation id in the body).

The answers say what happened (awaiting a code, choose, wrong code, locked, …) and never echo
a name, a birth date or a number, nor whether anyone matched; the action turns them into words.
404: unknown conversation; 422: malformed input; 503: the EHR could not be asked (nothing was
counted against anyone).

Repeated attempts against one patient from elsewhere (backend/identity/target_watch.py) reach
the care team as a hand-off in the console queue, on a conversation of its own per patient
(channel `care_alert`, never the patient's or the stranger's: handing either over would pause
it, and would tell the stranger that the patient exists).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import date
from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from backend.api.deps import ServiceCaller, ServicesDep
from backend.core.errors import UnknownConversation
from backend.db.models import Handoff
from backend.ehr.errors import EhrError
from backend.handoff import service as handoffs
from backend.handoff.states import Reason
from backend.hub import transcript
from backend.identity.access import verified_identity
from backend.identity.steps import (
    AlertSink,
    IdentityUnavailable,
    NameRequired,
    Outcome,
    Policy,
    Status,
    Step,
    TargetAlert,
)
from backend.identity.verification import IdentityDesk
from backend.outreach.contacts import remember_contact
from backend.outreach.kinds import OutreachConfig
from backend.services import Services

router = APIRouter(
    prefix="/internal/identity", tags=["internal", "identity"], dependencies=[ServiceCaller]
)

logger = logging.getLogger(__name__)
ALERT_CHANNEL = "care_alert"
ConversationId = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
T = TypeVar("T")


class ConversationIn(BaseModel):
    conversation_id: ConversationId


class StartIn(BaseModel):
    conversation_id: ConversationId
    birth_date: date
    family: Name | None = None
    given: Name | None = None

    @field_validator("birth_date")
    @classmethod
    def _in_the_past(cls, value: date) -> date:
        if value > date.today() or value.year < 1900:
            raise ValueError("birth date out of range")
        return value


class ChooseIn(BaseModel):
    conversation_id: ConversationId
    option: int = Field(ge=1, le=20)


class ConfirmIn(BaseModel):
    conversation_id: ConversationId
    code: str = Field(pattern=r"^\d{6}$")


class DependantOut(BaseModel):
    patient_id: str
    given: str


class StepOut(BaseModel):
    outcome: str
    options: list[str]
    dependants: list[DependantOut]
    attempts_left: int | None
    retry_after_minutes: int | None


class StatusOut(BaseModel):
    verified: bool
    identifies_by: str
    awaiting: str | None
    locked: bool
    dependants: list[DependantOut]


class EndOut(BaseModel):
    ended: bool


def _desk(services: Services) -> IdentityDesk:
    if services.ehr is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the EHR is not configured")
    return IdentityDesk(
        db=services.db,
        cipher=services.cipher,
        ehr=services.ehr,
        phone=services.phone_outbound,
        policy=Policy.from_settings(services.settings),
        ehr_timeout_s=min(2.0, services.settings.ehr_timeout_s),  # the audit mirror waits no longer
        alert=_care_team_alert(services),
    )


def _care_team_alert(services: Services) -> AlertSink:
    """The alert as a hand-off (high priority) the console shows, with a Task in the EHR."""

    def open_alert(found: TargetAlert, session: Session) -> tuple[Handoff, bool]:
        conversation = transcript.get_or_create_conversation(
            session=session, cipher=services.cipher, channel=ALERT_CHANNEL, address=found.patient_id
        )
        return handoffs.open_handoff(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation.id,
            reason=Reason.IDENTITY_ALERT,
            summary={
                "alert": "repeated identity checks against this patient's phone on file",
                "patient_id": found.patient_id,
                "attempts_last_hour": found.attempts_last_hour,
                "codes_paused_minutes": found.codes_paused_minutes,
                "next": "call the patient on the number on file; resolve when done",
            },
        )

    async def alert(found: TargetAlert) -> None:
        handoff, created = await services.db.run(partial(open_alert, found))
        if services.handoffs is not None:
            services.handoffs.opened(handoff, created=created)
        if created and services.ehr is not None:
            try:  # best effort: the console already has it
                await services.ehr.create_escalation_task(
                    patient_id=found.patient_id,
                    description="Repeated identity checks against this patient: see console",
                    priority="asap",
                )
            except EhrError as exc:  # the type only: the error may quote the request
                logger.warning("identity alert: EHR Task not written (%s)", type(exc).__name__)

    return alert


@asynccontextmanager
async def _answering() -> AsyncIterator[None]:
    """The desk's errors as HTTP answers."""
    try:
        yield
    except UnknownConversation as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from exc
    except NameRequired as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except IdentityUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "EHR unavailable") from exc


async def _run(step: Awaitable[T]) -> T:
    async with _answering():
        return await step


def _step_out(step: Step) -> StepOut:
    return StepOut(
        outcome=step.outcome.value,
        options=list(step.options),
        dependants=[DependantOut(patient_id=d.patient_id, given=d.given) for d in step.dependants],
        attempts_left=step.attempts_left,
        retry_after_minutes=step.retry_after_minutes,
    )


def _status_out(found: Status) -> StatusOut:
    return StatusOut(
        verified=found.verified,
        identifies_by=found.identifies_by,
        awaiting=found.awaiting,
        locked=found.locked,
        dependants=[DependantOut(patient_id=d.patient_id, given=d.given) for d in found.dependants],
    )


@router.post("/status")
async def identity_status(body: ConversationIn, services: ServicesDep) -> StatusOut:
    """Whether the conversation is verified, what it identifies by, and what is awaited."""
    return _status_out(await _run(_desk(services).status(body.conversation_id)))


@router.post("/start")
async def identity_start(body: StartIn, services: ServicesDep) -> StepOut:
    """Who the patient says they are (birth date; name too off the phone channels)."""
    desk = _desk(services)
    step = await _run(
        desk.start(
            body.conversation_id, birth_date=body.birth_date, family=body.family, given=body.given
        )
    )
    return _step_out(step)


@router.post("/choose")
async def identity_choose(body: ChooseIn, services: ServicesDep) -> StepOut:
    """The patient picked themselves from the initials offered (1-based)."""
    return _step_out(await _run(_desk(services).choose(body.conversation_id, body.option)))


@router.post("/confirm")
async def identity_confirm(body: ConfirmIn, services: ServicesDep) -> StepOut:
    """The 6-digit code the patient received on the phone on file."""
    step = await _run(_desk(services).confirm(body.conversation_id, body.code))
    if step.outcome is Outcome.VERIFIED:
        await services.db.run(partial(_reach_patient_here, services, body.conversation_id))
    return _step_out(step)


def _reach_patient_here(services: Services, conversation_id: str, session: Session) -> None:
    """Outreach (reminders, notices) goes to the conversation the patient last verified on,
    for the kinds the clinic's default consent covers (docs/outreach.md)."""
    identity = verified_identity(
        session=session, cipher=services.cipher, conversation_id=conversation_id
    )
    if identity is None:
        return
    remember_contact(
        session=session,
        cipher=services.cipher,
        patient_id=identity.patient_id,
        conversation_id=conversation_id,
        consents=OutreachConfig.from_settings(services.settings).default_consents,
    )


@router.post("/end")
async def identity_end(body: ConversationIn, services: ServicesDep) -> EndOut:
    """ "Log out" / "forget me": the verification ends at once."""
    return EndOut(ended=await _run(_desk(services).end(body.conversation_id)))
