"""Stepwise triage for the dialogue, and the record clinicians read when it is finished."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Conversation, Handoff, TriageRecord
from backend.handoff.service import open_handoff
from backend.handoff.states import Reason
from symptom_rules import Engine, EngineConfig, TriageResult

# Levels that put the conversation in the clinicians' queue (the reason sets the priority:
# emergencies urgent, same-day consultations high).
# Emergency levels go to the clinicians' queue at once. `consultation_24` does not: the
# patient is offered a same- or next-day booking (and a person if nothing fits), because a
# queued hand-off would hold the conversation for a clinician and stop that booking.
ESCALATED_LEVELS = {
    "emergency_ambulance": Reason.EMERGENCY,
    "emergency": Reason.EMERGENCY,
}


def build_engine(settings: Settings) -> Engine:
    """The triage engine with the clinic's phone numbers (a few seconds: build it once)."""
    return Engine(
        EngineConfig(
            emergency_number=settings.emergency_number,
            crisis_line=settings.crisis_line,
            poison_line=settings.poison_line,
        )
    )


@dataclass(frozen=True)
class TriageStep:
    """One call's outcome: the next question, or the finished decision (then `record_id`)."""

    result: TriageResult
    record_id: int | None
    handoff: tuple[Handoff, bool] | None = None  # (hand-off, newly created) when escalated


def require_conversation(*, session: Session, conversation_id: str) -> None:
    """Raises UnknownConversation unless the conversation exists."""
    if session.get(Conversation, conversation_id) is None:
        raise UnknownConversation(conversation_id)


def record_decision(
    *,
    session: Session,
    cipher: Cipher,
    conversation_id: str,
    complaint: str,
    answers: dict[str, str],
    result: TriageResult,
) -> TriageStep:
    """Store a finished decision for clinicians (and queue an emergency); nothing is stored
    while a question is still to be asked. The triage itself (`triage`) is the caller's:
    it is CPU work, kept apart from this database step."""
    if result.disposition is None:
        return TriageStep(result, None)
    summary = {
        "complaint": complaint,
        "answers": answers,
        "findings": [
            {"id": f.id, "status": f.status, "subject": f.subject} for f in result.findings
        ],
        "protocols": list(result.protocols),
        "explanation": result.explanation,
    }
    record = TriageRecord(
        conversation_id=conversation_id,
        level=result.disposition.value,
        rule_ids=list(result.rule_ids),
        summary_ciphertext=cipher.encrypt(json.dumps(summary)),
    )
    session.add(record)
    session.commit()
    handoff = None
    if result.disposition.value in ESCALATED_LEVELS:
        handoff = open_handoff(
            session=session,
            cipher=cipher,
            conversation_id=conversation_id,
            reason=ESCALATED_LEVELS[result.disposition.value],
            summary={
                "level": result.disposition.value,
                "rule_ids": list(result.rule_ids),
                "triage_record": record.id,
                "explanation": result.explanation,
            },
        )
    return TriageStep(result, record.id, handoff)


def latest_record(*, session: Session, conversation_id: str) -> TriageRecord | None:
    """The conversation's most recent finished triage."""
    query = (
        select(TriageRecord)
        .where(TriageRecord.conversation_id == conversation_id)
        .order_by(TriageRecord.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
