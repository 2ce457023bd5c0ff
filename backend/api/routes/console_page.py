"""The clinician console page at `/console` (its data comes from /console/api, signed in)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["console"])
CONSOLE_STATIC = Path(__file__).resolve().parents[2] / "console" / "static"


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    """The clinician console (sign-in, queue, claim, transcript, resolve)."""
    return FileResponse(
        CONSOLE_STATIC / "index.html",
        media_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )
