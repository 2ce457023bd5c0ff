"""Health: each dependency checked concurrently, with a short timeout."""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx
from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy import text

from backend.api.deps import ServicesDep
from backend.services import Services

router = APIRouter(tags=["health"])


class DependencyHealth(BaseModel):
    ok: bool
    detail: str


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    dependencies: dict[str, DependencyHealth]


async def _check_http(client: httpx.AsyncClient, url: str, timeout: float) -> DependencyHealth:
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return DependencyHealth(ok=False, detail=f"unreachable ({type(exc).__name__})")
    if response.status_code != 200:
        return DependencyHealth(ok=False, detail=f"HTTP {response.status_code}")
    return DependencyHealth(ok=True, detail="ok")


def _check_database(services: Services) -> DependencyHealth:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down"; the type says which
        return DependencyHealth(ok=False, detail=f"unreachable ({type(exc).__name__})")
    return DependencyHealth(ok=True, detail="ok")


@router.get("/healthz")
async def healthz(services: ServicesDep, response: Response) -> HealthPublic:
    """Reports Rasa, the action server, the EHR and the database; 503 if any is down."""
    settings = services.settings
    timeout = settings.health_timeout_s
    rasa, actions, ehr = await asyncio.gather(
        _check_http(services.http, settings.rasa_url.rstrip("/") + "/", timeout),
        _check_http(services.http, settings.actions_url.rstrip("/") + "/health", timeout),
        _check_http(services.http, settings.ehr_base_url.rstrip("/") + "/metadata", timeout),
    )
    dependencies = {
        "database": await asyncio.to_thread(_check_database, services),
        "rasa": rasa,
        "actions": actions,
        "ehr": ehr,
    }
    healthy = all(dep.ok for dep in dependencies.values())
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthPublic(status="ok" if healthy else "degraded", dependencies=dependencies)


@router.get("/livez")
def livez() -> dict[str, str]:
    """The backend process itself is up (dependencies not checked)."""
    return {"status": "ok"}
