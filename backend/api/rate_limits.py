"""The app's one `RateLimits` (backend/hub/rate_limits.py), and the phone-channel hook.

The limiter lives on `app.state`, made from the settings on first use, so that every route
and socket of one app counts in the same windows (and in Redis, every worker of the hub).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.applications import Starlette

from backend.hub.pipeline import Accepted
from backend.hub.rate_limits import RateLimits
from backend.hub.throttling import accept_phone
from backend.services import Services
from channels.base import InboundMessage


def rate_limits_of(app: Starlette, services: Services) -> RateLimits:
    """The app's limiter (made here the first time: no await between the check and the set,
    so two first requests cannot make two)."""
    limits: RateLimits | None = getattr(app.state, "rate_limits", None)
    if limits is None:
        limits = RateLimits.from_settings(services.settings)
        app.state.rate_limits = limits
    return limits


async def get_rate_limits(request: Request) -> RateLimits:
    return rate_limits_of(request.app, request.app.state.services)


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


async def accept_phone_message(
    app: Starlette, services: Services, message: InboundMessage
) -> Accepted:
    """Store an SMS, WhatsApp or Telegram message and queue its turn, within the limits
    (backend/hub/throttling.py); 503 when the turn queue is not set up."""
    if services.phone_turns is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "phone channels are not set up")
    return await accept_phone(
        message,
        hub=services.hub,
        turns=services.phone_turns,
        limits=rate_limits_of(app, services),
        db=services.db,
        deliver=services.deliver_reply,
        emergency_number=services.settings.emergency_number,
    )
