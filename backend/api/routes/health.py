"""Health: each dependency checked in the background, the event loop measured; answers at once."""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx
from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy import text

from backend.api.deps import ServicesDep
from backend.core.dependency_watch import NOT_CHECKED, Check, DependencyWatch
from backend.services import Services

router = APIRouter(tags=["health"])
# A loop that woke this late in the last few seconds was blocked: the worker is not healthy.
STALLED_MS = 1000.0
# A Rasa instance that answered a turn this recently is up (its health page may lag).
RASA_RECENT_S = 10.0


class DependencyHealth(BaseModel):
    ok: bool
    detail: str
    age_s: float = 0.0  # how long ago it was checked


class EventLoopPublic(BaseModel):
    """How this worker keeps up: a blocking call shows as lag; turns are patients' messages
    being answered, waiting ones are queued behind the turn gate's bound."""

    ok: bool
    lag_ms: float
    recent_max_lag_ms: float
    max_lag_ms: float
    turns_in_flight: int
    turns_waiting: int
    turns_refused: int
    db_threads_busy: int


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    dependencies: dict[str, DependencyHealth]
    event_loop: EventLoopPublic


def _http_check(services: Services, url: str) -> Check:
    async def check() -> tuple[bool, str]:
        timeout = services.settings.health_timeout_s
        try:
            response = await services.http.get(url, timeout=timeout)
        except httpx.HTTPError as exc:
            return False, f"unreachable ({type(exc).__name__})"
        if response.status_code != 200:
            return False, f"HTTP {response.status_code}"
        return True, "ok"

    return check


def _rasa_check(services: Services, url: str) -> Check:
    """A Rasa instance that answered a turn in the last few seconds is up, however slow its
    health page is under load; otherwise its health page is asked."""
    probe = _http_check(services, url.rstrip("/") + "/")
    answered_within = getattr(services.rasa, "answered_within", None)

    async def check() -> tuple[bool, str]:
        if answered_within is not None and answered_within(url, RASA_RECENT_S):
            return True, "answering turns"
        return await probe()

    return check


def _check_database(services: Services) -> DependencyHealth:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "down"; the type says which
        return DependencyHealth(ok=False, detail=f"unreachable ({type(exc).__name__})")
    return DependencyHealth(ok=True, detail="ok")


def _watch(services: Services) -> DependencyWatch:
    """The background checks of every dependency, started on the first health request."""
    if services.dependencies is None:
        settings = services.settings

        async def database() -> tuple[bool, str]:
            found = await _database_within(services, settings.health_timeout_s)
            return found.ok, found.detail

        checks: dict[str, Check] = {"database": database}
        for n, url in enumerate(settings.rasa_instances):
            checks["rasa" if n == 0 else f"rasa_{n + 1}"] = _rasa_check(services, url)
        checks["actions"] = _http_check(services, settings.actions_url.rstrip("/") + "/health")
        checks["ehr"] = _http_check(services, settings.ehr_base_url.rstrip("/") + "/metadata")
        services.dependencies = DependencyWatch(checks)
        services.dependencies.start()
    return services.dependencies


@router.get("/healthz")
async def healthz(services: ServicesDep, response: Response) -> HealthPublic:
    """Reports Rasa, the action server, the EHR, the database (checked in the background
    every 2 s, so this answers at once) and this worker's event loop; 503 if any is down or
    the loop was stalled."""
    watch = _watch(services)
    latest = watch.latest()
    if any(found.detail == NOT_CHECKED for found in latest.values()):
        await watch.check_now()  # the first request after start-up
        latest = watch.latest()
    dependencies = {
        name: DependencyHealth(ok=found.ok, detail=found.detail, age_s=found.age_s)
        for name, found in latest.items()
    }
    loop = _event_loop(services)
    healthy = all(dep.ok for dep in dependencies.values()) and loop.ok
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return HealthPublic(
        status="ok" if healthy else "degraded", dependencies=dependencies, event_loop=loop
    )


async def _database_within(services: Services, timeout: float) -> DependencyHealth:
    """The database check, in a thread of its own (not one of the turns' database threads,
    which may all be busy) and given up after `timeout`: health never hangs."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(_check_database, services), timeout)
    except TimeoutError:
        return DependencyHealth(ok=False, detail=f"no answer within {timeout:g} s")


def _event_loop(services: Services) -> EventLoopPublic:
    lag = services.loop_lag.figures
    gate = services.hub.gate.figures
    return EventLoopPublic(
        ok=lag.recent_max_ms < STALLED_MS,
        lag_ms=lag.lag_ms,
        recent_max_lag_ms=lag.recent_max_ms,
        max_lag_ms=lag.max_ms,
        turns_in_flight=gate.in_flight,
        turns_waiting=gate.waiting,
        turns_refused=gate.refused,
        db_threads_busy=services.db.busy,
    )


@router.get("/livez")
def livez() -> dict[str, str]:
    """The backend process itself is up (dependencies not checked)."""
    return {"status": "ok"}
