"""All routers, composed in one place."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.routes import (
    console_events,
    console_handoffs,
    console_page,
    console_session,
    health,
    internal,
    internal_appointments,
    internal_handoffs,
    internal_identity,
    internal_records,
    rest_channel,
    telegram_channel,
    twilio_channel,
    webchat,
)
from backend.outreach import api as outreach_api

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(rest_channel.router)
api_router.include_router(twilio_channel.router)
api_router.include_router(telegram_channel.router)
api_router.include_router(internal.router)
api_router.include_router(webchat.router)
api_router.include_router(internal_handoffs.router)
api_router.include_router(internal_identity.router)
api_router.include_router(internal_records.router)
api_router.include_router(internal_appointments.router)
api_router.include_router(console_session.router)
api_router.include_router(console_handoffs.router)
api_router.include_router(console_events.router)
api_router.include_router(console_page.router)
api_router.include_router(outreach_api.router)
