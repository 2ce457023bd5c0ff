"""The plain REST channel: the same hub path as every channel, answers as JSON."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from backend.api.deps import HubDep, ServicesDep
from backend.db.models import utcnow
from backend.hub.admission import Busy
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.identity.sources import note_client
from channels import rest
from channels.base import InboundMessage, InvalidMessage

PATH = "/channels/rest/webhook"
router = APIRouter(tags=["channels"])


class RestMessageIn(BaseModel):
    sender: str = Field(min_length=1, max_length=128, strict=True)
    message: str = Field(strict=True)


class ButtonPublic(BaseModel):
    title: str
    payload: str


class RestReplyPublic(BaseModel):
    text: str
    buttons: list[ButtonPublic] | None = None


@router.post(
    PATH,
    response_model=list[RestReplyPublic],
    response_model_exclude_none=True,
    responses={503: {"description": "busy (with Retry-After) or the assistant is unreachable"}},
)
async def rest_webhook(
    body: RestMessageIn, hub: HubDep, services: ServicesDep, request: Request
) -> list[rest.RestReply]:
    """Send one patient message; answers with the assistant's replies."""
    inbound = InboundMessage(channel=rest.CHANNEL, address=body.sender, text=body.message)
    if request.client is not None:
        # Identity limits count per client too, so a new sender brings no fresh attempts
        # (backend/identity/sources.py).
        client = request.client.host
        await services.db.run(
            lambda session: note_client(
                session=session,
                cipher=services.cipher,
                channel=rest.CHANNEL,
                address=body.sender,
                client=client,
                now=utcnow(),
            )
        )
    try:
        result = await hub.handle(inbound)
    except InvalidMessage as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from exc
    except Busy as exc:
        # Nothing was stored: the client sends the same message again after the pause.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the assistant is busy; your message was not taken, please send it again shortly",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    except AssistantUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the assistant is unavailable right now; your message was kept, please try again",
        ) from exc
    return rest.render(result.replies)
