"""All routers, composed in one place."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.routes import health, internal, rest_channel, webchat

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(rest_channel.router)
api_router.include_router(internal.router)
api_router.include_router(webchat.router)
