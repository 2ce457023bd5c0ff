"""Development only: every message that would have left the system with no provider set.

Mounted only when ENV=development, answered only to loopback callers, and one-time codes are
shown only to a caller holding the service token (tests, the load bench, an operator with
.env); anyone else sees them masked, so a name and a birth date are not enough to verify as
a patient on a laptop stack.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.api.deps import ServicesDep, has_service_token
from backend.hub.transports import OutboxEntry, dev_outbox

# Verification codes (backend/identity) are six digits; longer runs are times or numbers.
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
MASK = "••••••"
MASKED_NOTE = " One-time codes are masked here: <code>make outbox</code> prints them."


async def loopback_only(request: Request) -> None:
    """The outbox lists what would have gone to patients' phones: never beyond this host."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the development outbox is loopback only")


router = APIRouter(prefix="/dev", tags=["development"], dependencies=[Depends(loopback_only)])


# True for a caller with the service token; codes are masked for everyone else.
ShowsCodes = Annotated[bool, Depends(has_service_token)]


def _readable(entries: list[OutboxEntry], *, codes: bool) -> list[OutboxEntry]:
    if codes:
        return entries
    return [
        OutboxEntry(to=e.to, channel=e.channel, text=_CODE.sub(MASK, e.text), at=e.at)
        for e in entries
    ]


class OutboxMessagePublic(BaseModel):
    to: str
    channel: str
    text: str
    at: datetime


@router.get("/outbox.json", response_model=list[OutboxMessagePublic])
def outbox_json(services: ServicesDep, codes: ShowsCodes) -> list[OutboxMessagePublic]:
    """Messages in the development outbox, newest first."""
    with services.session_factory() as session:
        entries = _readable(dev_outbox(session=session, cipher=services.cipher), codes=codes)
    return [OutboxMessagePublic(to=e.to, channel=e.channel, text=e.text, at=e.at) for e in entries]


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(services: ServicesDep, codes: ShowsCodes) -> str:
    """The development outbox as a page (codes masked: `make outbox` prints them)."""
    with services.session_factory() as session:
        entries = _readable(dev_outbox(session=session, cipher=services.cipher), codes=codes)
    rows = "".join(
        f"<tr><td>{escape(e.at.isoformat(timespec='seconds'))}</td><td>{escape(e.channel)}</td>"
        f"<td>{escape(e.to)}</td><td><pre>{escape(e.text)}</pre></td></tr>"
        for e in entries
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Dev outbox</title>"
        "<style>body{font-family:sans-serif}td{border-bottom:1px solid #ddd;padding:4px;"
        "vertical-align:top}pre{margin:0;white-space:pre-wrap}</style></head><body>"
        f"<h1>Development outbox</h1><p>{len(entries)} message(s) that would have been sent."
        f"{'' if codes else MASKED_NOTE}"
        "</p><table><tr><th>at</th><th>channel</th><th>to</th><th>text</th></tr>"
        f"{rows}</table></body></html>"
    )
