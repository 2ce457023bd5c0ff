"""The plain REST channel: the same hub path as every channel, answers as JSON."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.api.deps import HubDep
from backend.hub.rasa_gateway import AssistantUnavailable
from channels import rest
from channels.base import InboundMessage, InvalidMessage

router = APIRouter(prefix="/channels/rest", tags=["channels"])


class RestMessageIn(BaseModel):
    sender: str = Field(min_length=1, max_length=128, strict=True)
    message: str = Field(strict=True)


class ButtonPublic(BaseModel):
    title: str
    payload: str


class RestReplyPublic(BaseModel):
    text: str
    buttons: list[ButtonPublic] | None = None


@router.post("/webhook", response_model=list[RestReplyPublic], response_model_exclude_none=True)
async def rest_webhook(body: RestMessageIn, hub: HubDep) -> JSONResponse:
    """Send one patient message; answers with the assistant's replies.

    The replies are already in the documented shape (channels/rest.py), so they go out as they
    are: FastAPI's validation of the response model would only repeat it, on every message.
    """
    inbound = InboundMessage(channel=rest.CHANNEL, address=body.sender, text=body.message)
    try:
        result = await hub.handle(inbound)
    except InvalidMessage as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from exc
    except AssistantUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the assistant is unavailable right now; your message was kept, please try again",
        ) from exc
    return JSONResponse(rest.render(result.replies))
