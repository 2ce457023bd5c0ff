"""Development only: every message that would have left the system with no provider set."""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.api.deps import ServicesDep
from backend.hub.transports import dev_outbox

router = APIRouter(prefix="/dev", tags=["development"])


class OutboxMessagePublic(BaseModel):
    to: str
    channel: str
    text: str
    at: datetime


@router.get("/outbox.json", response_model=list[OutboxMessagePublic])
def outbox_json(services: ServicesDep) -> list[OutboxMessagePublic]:
    """Messages in the development outbox, newest first."""
    with services.session_factory() as session:
        entries = dev_outbox(session=session, cipher=services.cipher)
    return [OutboxMessagePublic(to=e.to, channel=e.channel, text=e.text, at=e.at) for e in entries]


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(services: ServicesDep) -> str:
    """The development outbox as a page."""
    with services.session_factory() as session:
        entries = dev_outbox(session=session, cipher=services.cipher)
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
        "</p><table><tr><th>at</th><th>channel</th><th>to</th><th>text</th></tr>"
        f"{rows}</table></body></html>"
    )
