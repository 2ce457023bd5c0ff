"""The backend (hub) application: `uvicorn backend.main:create_app --factory`."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from backend.api.body_limit import BodyLimit
from backend.api.main import ROUTERS
from backend.api.openapi_errors import document_reason_details
from backend.api.routes import dev_outbox
from backend.api.routes.webchat import STATIC
from backend.core.config import Settings, get_settings
from backend.hub.safety_adapter import symptom_rules_screen
from backend.services import Services, build_services, ehr_from_settings
from backend.triage.service import build_engine

logger = logging.getLogger("backend")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or fully built services."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is None:
            engine = build_engine(settings)
            built = build_services(
                settings,
                safety_screen=symptom_rules_screen(engine),
                triage_engine=engine,
                ehr=ehr_from_settings(settings),
            )
        else:
            built = services
        app.state.services = built
        # What start-up built (spaCy's pipeline, the rules: ~190,000 objects) lives as long
        # as the process: out of the collector's sight, a full collection no longer walks it
        # (measured 180-220 ms each, a pause of the event loop, several a minute under load).
        gc.collect()
        gc.freeze()
        await built.start()
        await built.live.start()  # with Redis: hear the other workers' events from now on
        if built.telegram is not None and settings.telegram_bot_token:
            registered = await built.telegram.register_webhook(
                public_base_url=settings.public_base_url,
                secret_token=settings.telegram_secret_token,
            )
            logger.info("Telegram webhook registered: %s", registered)
        logger.info("backend ready (env=%s)", settings.env)
        yield
        await built.close()

    app = FastAPI(
        title="Patient messaging assistant hub",
        lifespan=lifespan,
        docs_url="/docs" if settings.env == "development" else None,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    if settings.env == "development":
        app.include_router(dev_outbox.router)  # /dev/outbox: development only
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    document_reason_details(app)
    return app
