"""The console's live stream: server-sent events for queue changes and new patient messages.

`GET /console/api/events` needs a clinician session like every console route; the stream
re-checks the session every heartbeat and ends when it has expired or been signed out.
Events carry hand-off ids only: the page then fetches the queue or transcript it shows.
A stream lasts as long as the page is open, so it holds no database session: the session
checks are short `DbWork` steps (backend/db/work.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from backend.api.console_auth import AsyncClinician, SessionCookie, idle_limit
from backend.api.deps import ServicesDep
from backend.handoff.auth import clinician_for_token
from backend.services import Services

router = APIRouter(prefix="/console/api", tags=["console"])
HEARTBEAT_S = 15.0


async def _still_signed_in(services: Services, token: str | None) -> bool:
    """The stream's own checks are not the clinician's actions: they never extend the idle
    limit, so an open tab left alone is signed out like any other."""
    if token is None:
        return False
    idle = idle_limit(services.settings)
    found = await services.db.run(
        lambda session: clinician_for_token(session=session, token=token, idle=idle, touch=False)
    )
    return found is not None


async def _stream(
    request: Request, services: Services, token: str | None, heartbeat_s: float
) -> AsyncIterator[str]:
    queue = services.live.subscribe()
    try:
        yield "event: ready\ndata: {}\n\n"
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                if not await _still_signed_in(services, token):
                    yield "event: signed_out\ndata: {}\n\n"
                    return
                yield ": heartbeat\n\n"
                continue
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
    finally:
        services.live.unsubscribe(queue)


@router.get("/events")
async def console_events(
    request: Request,
    _clinician: AsyncClinician,
    services: ServicesDep,
    token: SessionCookie = None,
) -> StreamingResponse:
    """Server-sent events: `queue` (a hand-off changed) and `message` (a patient wrote)."""
    return StreamingResponse(
        _stream(request, services, token, HEARTBEAT_S),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
