"""Dependencies as named aliases, so routes read like prose.

They are `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread
pool, and two thread hops per request were a third of the hub's own time on the message path.
Dependencies that do blocking work (a database session: console_auth.py) stay `def`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from backend.core.config import Settings
from backend.hub.outbound import PhoneOutbound
from backend.hub.pipeline import Hub
from backend.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_hub(services: ServicesDep) -> Hub:
    return services.hub


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


HubDep = Annotated[Hub, Depends(get_hub)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def has_service_token(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> bool:
    """Whether the caller sent `Authorization: Bearer <SERVICE_TOKEN>`."""
    if authorization is None:
        return False
    expected = f"Bearer {settings.service_token}"
    # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError (a 500).
    return hmac.compare_digest(authorization.encode("utf-8"), expected.encode("utf-8"))


async def require_service_token(
    holds_token: Annotated[bool, Depends(has_service_token)],
) -> None:
    """The internal API is for the action server only: a bearer service token is required."""
    if not holds_token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "service token required")


ServiceCaller = Depends(require_service_token)


async def get_phone_outbound(services: ServicesDep) -> PhoneOutbound:
    if services.phone_outbound is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "phone channels are not set up")
    return services.phone_outbound


PhoneOutboundDep = Annotated[PhoneOutbound, Depends(get_phone_outbound)]
