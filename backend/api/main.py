"""All routers, in the order the app tries them."""

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

# Included one by one on the app (backend/main.py), patients' message paths first.
ROUTERS: tuple[APIRouter, ...] = (
    rest_channel.router,
    webchat.router,
    twilio_channel.router,
    telegram_channel.router,
    internal.router,
    internal_identity.router,
    internal_appointments.router,
    internal_records.router,
    internal_handoffs.router,
    health.router,
    console_session.router,
    console_handoffs.router,
    console_events.router,
    console_page.router,
    outreach_api.router,
)
