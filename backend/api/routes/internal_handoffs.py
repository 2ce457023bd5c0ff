"""The action server escalates a conversation to clinicians (service token required).

The action then returns `ConversationPaused()`, which pauses Rasa: this route must not call
Rasa itself (Rasa holds the conversation's lock while the action runs).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy.orm import Session

from backend.api.deps import ServiceCaller, ServicesDep
from backend.core.errors import UnknownConversation
from backend.db.models import Handoff, utcnow
from backend.handoff import service
from backend.handoff.hours import parse_hours
from backend.handoff.schemas import HandoffCreate, HandoffOpenedPublic, handoff_opened
from backend.handoff.states import State

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[ServiceCaller])


@router.post("/handoffs", status_code=status.HTTP_201_CREATED)
async def open_handoff_route(
    body: HandoffCreate, services: ServicesDep, response: Response
) -> HandoffOpenedPublic:
    """Put a conversation in the clinicians' queue (200 with the open one if already there);
    answers what the patient should be told: place in the queue, usual wait, opening hours."""

    def open_and_place(session: Session) -> tuple[Handoff, HandoffOpenedPublic]:
        handoff, created = service.open_handoff(
            session=session,
            cipher=services.cipher,
            conversation_id=body.conversation_id,
            reason=body.reason,
            priority=body.priority,
            summary=body.summary,
        )
        waiting = service.queue(session=session, states=frozenset({State.WAITING}))
        opened = handoff_opened(
            session=session, handoff=handoff, created=created, waiting_count=len(waiting)
        )
        return handoff, opened

    try:
        # One database step, off the event loop (backend/db/work.py).
        handoff, opened = await services.db.run(open_and_place)
    except UnknownConversation as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if not opened.created:
        response.status_code = status.HTTP_200_OK
    if services.handoffs is not None:
        services.handoffs.opened(handoff, created=opened.created)
    settings = services.settings
    try:
        hours = parse_hours(settings.clinic_opening_hours, settings.clinic_timezone)
        clinic_open = hours.is_open(utcnow())
    except (ValueError, KeyError):  # a mistyped setting must not hide the hand-off
        clinic_open = True
    opened.expected_wait_minutes = max(1, opened.queue_position) * (
        settings.handoff_minutes_per_patient
    )
    opened.clinic_open = clinic_open
    opened.clinic_hours = settings.clinic_hours
    opened.clinic_phone = settings.clinic_phone
    opened.emergency_number = settings.emergency_number
    return opened
