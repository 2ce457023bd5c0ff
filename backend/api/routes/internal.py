"""The internal API the action server calls (service token required)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from backend.api.deps import ServiceCaller, ServicesDep, SettingsDep
from backend.core.errors import UnknownConversation
from backend.triage.service import record_decision, require_conversation
from symptom_rules import TriageResult, triage

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[ServiceCaller])


class ClinicContactPublic(BaseModel):
    name: str
    phone: str
    hours: str
    emergency_number: str


@router.get("/clinic")
def clinic_contact(settings: SettingsDep) -> ClinicContactPublic:
    """The clinic's public contact details."""
    return ClinicContactPublic(
        name=settings.clinic_name,
        phone=settings.clinic_phone,
        hours=settings.clinic_hours,
        emergency_number=settings.emergency_number,
    )


class TriageIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    complaint: str = Field(min_length=1, max_length=2000)
    answers: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=40
    )


class QuestionPublic(BaseModel):
    id: str
    text: str
    answers: list[str]


class TriagePublic(BaseModel):
    """Either `next_question`, or `level` with why and what to watch for (never both)."""

    next_question: QuestionPublic | None
    level: str | None
    emergency: bool
    explanation: str
    safety_net: str
    rule_ids: list[str]
    record_id: int | None


@router.post("/triage")
async def triage_step_route(body: TriageIn, services: ServicesDep) -> TriagePublic:
    """One step of symptom triage; the finished decision is recorded for clinicians, and an
    emergency level queues the conversation for them (console and EHR told at once)."""
    if services.triage_engine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "triage is not configured")
    try:
        await services.db.run(
            lambda session: require_conversation(
                session=session, conversation_id=body.conversation_id
            )
        )
    except UnknownConversation as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    # CPU work, in a thread of its own (not a database thread: no connection is held) and
    # under the lock the hub's red-flag screen takes: spaCy's pipeline is not made for two
    # threads at once.
    engine = services.triage_engine

    def decide() -> TriageResult:
        with services.hub.pipeline_lock:
            return triage(body.complaint, answers=body.answers, engine=engine)

    result = await asyncio.to_thread(decide)
    step = await services.db.run(
        lambda session: record_decision(
            session=session,
            cipher=services.cipher,
            conversation_id=body.conversation_id,
            complaint=body.complaint,
            answers=body.answers,
            result=result,
        )
    )
    if step.handoff is not None and services.handoffs is not None:
        handoff, created = step.handoff
        services.handoffs.opened(handoff, created=created)
    question = result.next_question
    return TriagePublic(
        next_question=(
            QuestionPublic(id=question.id, text=question.text, answers=list(question.answers))
            if question
            else None
        ),
        level=result.disposition.value if result.disposition else None,
        emergency=result.is_emergency,
        explanation=result.explanation,
        safety_net=result.safety_net,
        rule_ids=list(result.rule_ids),
        record_id=step.record_id,
    )
