"""The plain REST channel: the same hub path as every channel, answers as JSON.

Off (404, as for any unknown path) unless REST_CLIENTS lists clients; then every request
needs `Authorization: Bearer <API key>` of one of them (401 otherwise), checked before the
body is read. The conversation is the client's id plus the body's `sender` (channels/rest.py),
and messages count against the rate limits per conversation and per client: over them, 429
with Retry-After and nothing stored, unless the red-flag screen flags the message
(backend/hub/throttling.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from backend.api.deps import HubDep, ServicesDep
from backend.api.rate_limits import RateLimitsDep
from backend.core.config import Settings
from backend.hub.admission import Busy
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.hub.throttling import never_throttled
from backend.identity.sources import note_client_seen
from channels import rest
from channels.base import InboundMessage, InvalidMessage

PATH = "/channels/rest/webhook"
NEEDS_KEY = "send your REST client's API key as 'Authorization: Bearer <key>'"


def _client_of(request: Request, settings: Settings) -> str:
    """The id of the REST client making the request; 404 when the channel is off, 401
    without a known key."""
    if not settings.rest_clients:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    key = rest.presented_key(request.headers.get("authorization"))
    client = rest.authenticate(key, settings.rest_clients)
    if client is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, NEEDS_KEY, headers={"WWW-Authenticate": "Bearer"}
        )
    return client


class _ClientFirst(APIRoute):
    """Checks the caller before FastAPI reads the body: without a key, a malformed body is
    answered like any other (401), never with a 422 that shows the route is there."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            request.state.rest_client = _client_of(request, request.app.state.services.settings)
            return await handle(request)

        return checked


router = APIRouter(tags=["channels"], route_class=_ClientFirst)


async def rest_client(request: Request) -> str:
    client: str = request.state.rest_client  # set by _ClientFirst before the body is read
    return client


RestClientDep = Annotated[str, Depends(rest_client)]


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
    responses={
        401: {"description": "no API key, or not one of REST_CLIENTS'"},
        404: {"description": "the REST channel is off (no REST_CLIENTS)"},
        429: {"description": "over a rate limit (with Retry-After); nothing was stored"},
        503: {"description": "busy (with Retry-After) or the assistant is unreachable"},
    },
)
async def rest_webhook(
    body: RestMessageIn,
    client: RestClientDep,
    hub: HubDep,
    services: ServicesDep,
    limits: RateLimitsDep,
    request: Request,
) -> list[rest.RestReply]:
    """Send one patient message as a REST client; answers with the assistant's replies."""
    address = rest.address(client, body.sender)
    inbound = InboundMessage(channel=rest.CHANNEL, address=address, text=body.message)
    throttled = await limits.admit(
        address_key=hub.cipher.address_hash(rest.CHANNEL, address), client_key=f"rest:{client}"
    )
    if throttled is not None and not await never_throttled(hub, inbound):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many messages: this one was not taken, send it again after Retry-After seconds",
            headers={"Retry-After": str(throttled.retry_after_s)},
        )
    if request.client is not None:
        # Identity limits count per client too, so a new sender brings no fresh attempts
        # (backend/identity/sources.py).
        await note_client_seen(
            services.db,
            services.cipher,
            channel=rest.CHANNEL,
            address=address,
            client=request.client.host,
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
