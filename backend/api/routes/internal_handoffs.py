"""The action server escalates a conversation to clinicians (service token required)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from backend.api.console_auth import SessionDep
from backend.api.deps import ServiceCaller, ServicesDep
from backend.core.errors import UnknownConversation
from backend.handoff import service
from backend.handoff.schemas import HandoffCreate, HandoffOpenedPublic, handoff_opened
from backend.handoff.states import State

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[ServiceCaller])


@router.post("/handoffs", status_code=status.HTTP_201_CREATED)
def open_handoff_route(
    body: HandoffCreate, session: SessionDep, services: ServicesDep, response: Response
) -> HandoffOpenedPublic:
    """Put a conversation in the clinicians' queue (200 with the open one if already there)."""
    try:
        handoff, created = service.open_handoff(
            session=session,
            cipher=services.cipher,
            conversation_id=body.conversation_id,
            reason=body.reason,
            priority=body.priority,
            summary=body.summary,
        )
    except UnknownConversation as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    waiting = service.queue(session=session, states=frozenset({State.WAITING}))
    return handoff_opened(
        session=session, handoff=handoff, created=created, waiting_count=len(waiting)
    )
