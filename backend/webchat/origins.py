"""Which pages may open the web chat socket.

A WebSocket is not covered by the browser's same-origin policy: without this check any web
page a patient visits could open the chat in their name (cross-site WebSocket hijacking).
"""

from __future__ import annotations

from backend.core.config import Settings
from channels.webchat import loopback_twins, normalize_origin, origin_of


def allowed_origins(settings: Settings) -> frozenset[str]:
    """WEBCHAT_ALLOWED_ORIGINS, or by default the hub's own origin(s).

    The default is PUBLIC_BASE_URL's origin and, in development, BACKEND_URL's under both
    127.0.0.1 and localhost (the address `make run` prints and the one people type).
    """
    configured = [o for o in settings.webchat_allowed_origins.split(",") if o.strip()]
    if configured:
        return frozenset(normalize_origin(o) for o in configured)
    origins = {origin_of(settings.public_base_url)}
    if settings.env == "development":
        origins |= loopback_twins(origin_of(settings.backend_url))
    return frozenset(origins)
