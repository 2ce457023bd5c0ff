"""The long-lived objects of the backend process, built once at start-up from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.session import make_engine, make_session_factory
from backend.hub.pipeline import Hub
from backend.hub.rasa_gateway import HttpRasaGateway, RasaGateway
from backend.hub.safety import SafetyScreen

if TYPE_CHECKING:
    from symptom_rules import Engine


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    cipher: Cipher
    http: httpx.AsyncClient
    rasa: RasaGateway
    hub: Hub
    triage_engine: Engine | None = None  # None only in tests that do not triage

    async def close(self) -> None:
        await self.rasa.close()
        await self.http.aclose()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    rasa: RasaGateway | None = None,
    safety_screen: SafetyScreen | None = None,
    triage_engine: Engine | None = None,
) -> Services:
    """Wire the backend. Tests pass their own Rasa double; production uses Rasa over HTTP."""
    engine = make_engine(settings.effective_database_url)
    session_factory = make_session_factory(engine)
    cipher = Cipher(settings.encryption_key)
    http = httpx.AsyncClient(timeout=settings.rasa_timeout_s)
    gateway = rasa or HttpRasaGateway(
        settings.rasa_url, settings.rasa_token, timeout_s=settings.rasa_timeout_s
    )
    hub = Hub(
        session_factory=session_factory,
        cipher=cipher,
        rasa=gateway,
        safety_screen=safety_screen,
        max_message_chars=settings.max_message_chars,
        session_max_turns=settings.session_max_turns,
    )
    return Services(settings, engine, session_factory, cipher, http, gateway, hub, triage_engine)
