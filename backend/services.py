"""The long-lived objects of the backend process, built once at start-up from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.core.dependency_watch import DependencyWatch
from backend.core.loop_lag import LoopLagMonitor
from backend.db.session import make_engine, make_session_factory
from backend.db.work import DbWork
from backend.ehr import Ehr
from backend.ehr.factory import connect_ehr
from backend.handoff.flow import HandoffFlow
from backend.handoff.live import LiveHub
from backend.handoff.live_redis import live_hub_for
from backend.handoff.login_throttle import LoginThrottle
from backend.hub.admission import TurnGate
from backend.hub.conversation_locks import (
    ConversationLocks,
    LocalConversationLocks,
    RedisConversationLocks,
)
from backend.hub.keywords import KeywordDesk
from backend.hub.outbound import PhoneOutbound
from backend.hub.phone_turns import PhoneTurns
from backend.hub.pipeline import Hub
from backend.hub.rasa_gateway import HttpRasaGateway, RasaGateway
from backend.hub.safety import SafetyScreen
from backend.hub.senders import deliver_to_conversation
from backend.hub.telegram_outbound import TelegramOutbound
from backend.hub.transports import DevOutboxTransport, Transport, TwilioTransport
from backend.hub.turn_queue import ArqTurnQueue, InProcessTurnQueue, TurnQueue
from backend.identity.access import configure_idle
from backend.records.refill_locks import LocalRefillLocks, RefillLocks, refill_locks_for
from channels.base import Reply
from channels.twilio.client import TwilioMessenger

if TYPE_CHECKING:
    from symptom_rules import Engine as TriageEngine


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    cipher: Cipher
    http: httpx.AsyncClient
    rasa: RasaGateway
    hub: Hub
    triage_engine: TriageEngine | None = None  # None only in tests that do not triage
    ehr: Ehr | None = None  # None only in tests that do not reach the EHR
    phone_outbound: PhoneOutbound | None = None  # SMS and WhatsApp senders
    telegram: TelegramOutbound | None = None  # Telegram sender
    # --- hand-off ---
    live: LiveHub = field(default_factory=LiveHub)  # console streams, web chat sockets
    handoffs: HandoffFlow | None = None  # replies, resolve, EHR writes (set by build_services)
    # --- concurrency (docs/concurrency.md) ---
    db_work: DbWork | None = None  # blocking database work, off the event loop
    redis: Redis | None = None  # shared by several hub workers; None in one process
    refill_locks: RefillLocks = field(default_factory=LocalRefillLocks)  # one refill at a time
    loop_lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    dependencies: DependencyWatch | None = None  # /healthz's background checks
    phone_turns: PhoneTurns | None = None  # phone webhooks' turns, from the queue
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)  # console sign-in

    async def start(self) -> None:
        """Start what runs in the background: the loop-lag monitor and the phone-turn queue."""
        self.loop_lag.start()
        if self.phone_turns is not None:
            await self.phone_turns.start()

    async def deliver_reply(self, conversation_id: str, replies: list[Reply]) -> int:
        """Send the assistant's replies on the conversation's own channel."""
        return await deliver_to_conversation(
            db=self.db,
            phone=self.phone_outbound,
            telegram=self.telegram,
            conversation_id=conversation_id,
            replies=replies,
            kind="reply",
        )

    @property
    def db(self) -> DbWork:
        """Where async code runs its database work (one session per call, in a thread)."""
        if self.db_work is None:
            self.db_work = DbWork(self.session_factory, threads=self.settings.db_threads)
        return self.db_work

    async def close(self) -> None:
        await self.loop_lag.stop()
        if self.dependencies is not None:
            await self.dependencies.stop()
        if self.phone_turns is not None:
            await self.phone_turns.stop()
        if self.handoffs is not None:
            await self.handoffs.drain()  # let background EHR writes finish
        if self.telegram is not None:
            await self.telegram.aclose()
        if self.ehr is not None:
            await self.ehr.aclose()
        await self.rasa.close()
        await self.http.aclose()
        await self.live.close()  # its Redis subscriber, before the client closes
        if self.redis is not None:
            await self.redis.aclose()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    rasa: RasaGateway | None = None,
    safety_screen: SafetyScreen | None = None,
    triage_engine: TriageEngine | None = None,
    ehr: Ehr | None = None,
) -> Services:
    """Wire the backend. Tests pass their own Rasa double; production uses Rasa over HTTP."""
    engine = make_engine(settings.effective_database_url, pool_size=settings.db_threads)
    session_factory = make_session_factory(engine)
    configure_idle(session_factory, timedelta(minutes=settings.identity_idle_minutes))
    cipher = Cipher.from_settings(settings)
    http = httpx.AsyncClient(timeout=settings.rasa_timeout_s)
    gateway = rasa or HttpRasaGateway(
        settings.rasa_instances, settings.rasa_token, timeout_s=settings.rasa_timeout_s
    )
    db = DbWork(session_factory, threads=settings.db_threads)
    redis = (
        Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_timeout_s,
        )
        if settings.redis_url
        else None
    )
    hub = Hub(
        db=db,
        cipher=cipher,
        gate=TurnGate(
            max_in_flight=settings.hub_max_turns,
            max_waiting=settings.hub_max_waiting,
            max_wait_s=settings.hub_max_wait_s,
            retry_after_s=settings.hub_retry_after_s,
        ),
        locks=conversation_locks(settings, redis),
        rasa=gateway,
        safety_screen=safety_screen,
        max_message_chars=settings.max_message_chars,
        session_max_turns=settings.session_max_turns,
        keywords=KeywordDesk(
            cipher=cipher, clinic_name=settings.clinic_name, clinic_phone=settings.clinic_phone
        ),
    )
    phone_outbound = PhoneOutbound(
        db=db,
        cipher=cipher,
        transport=phone_transport(settings, session_factory=session_factory, cipher=cipher),
        whatsapp_templates=settings.twilio_whatsapp_templates,
    )
    services = Services(
        settings,
        engine,
        session_factory,
        cipher,
        http,
        gateway,
        hub,
        triage_engine,
        ehr,
        db_work=db,
        redis=redis,
        live=live_hub_for(redis, cipher, prefix=settings.redis_prefix),
        refill_locks=refill_locks_for(
            redis, cipher, ehr_timeout_s=settings.ehr_timeout_s, prefix=settings.redis_prefix
        ),
        phone_outbound=phone_outbound,
        login_throttle=LoginThrottle(
            storage_uri=settings.redis_url or "memory://", key_prefix=settings.redis_prefix
        ),
        telegram=TelegramOutbound(
            db=db,
            cipher=cipher,
            bot_token=settings.telegram_bot_token,
            api_base_url=settings.telegram_api_base_url,
        ),
    )
    # --- hand-off ---
    services.handoffs = HandoffFlow(
        db=db,
        cipher=cipher,
        rasa=gateway,
        live=services.live,
        ehr=ehr,
        phone=phone_outbound,
        telegram=services.telegram,
    )
    hub.handoffs = services.handoffs
    services.phone_turns = PhoneTurns(
        hub=hub, queue=turn_queue(settings), db=db, deliver=services.deliver_reply
    )
    return services


def turn_queue(settings: Settings) -> TurnQueue:
    """arq on Redis when several hub workers share the load; this process's tasks otherwise."""
    tries, retry_s = settings.phone_turn_tries, settings.phone_turn_retry_s
    if not settings.redis_url:
        return InProcessTurnQueue(tries=tries, retry_delay_s=retry_s)
    return ArqTurnQueue(
        settings.redis_url,
        queue_name=f"{settings.redis_prefix}phone-turns",
        socket_timeout_s=settings.redis_socket_timeout_s,
        job_timeout_s=settings.rasa_timeout_s + settings.ehr_timeout_s * 4 + 10,
        max_jobs=settings.hub_max_turns,
        tries=tries,
        retry_delay_s=retry_s,
    )


def conversation_locks(settings: Settings, redis: Redis | None) -> ConversationLocks:
    """In memory for one backend process; in Redis when several hub workers share the load."""
    if redis is None:
        return LocalConversationLocks()
    return RedisConversationLocks(
        redis,
        prefix=settings.redis_prefix,
        lease_s=settings.rasa_timeout_s * 2 + 30,
        wait_s=settings.hub_max_wait_s,
        retry_after_s=settings.hub_retry_after_s,
    )


def phone_transport(
    settings: Settings, *, session_factory: sessionmaker[Session], cipher: Cipher
) -> Transport:
    """Twilio when an account is configured, the development outbox otherwise."""
    if not settings.twilio_account_configured:
        return DevOutboxTransport(session_factory=session_factory, cipher=cipher)
    messenger = TwilioMessenger(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        senders={"sms": settings.twilio_from_number, "whatsapp": settings.twilio_whatsapp_from},
        status_callback=settings.public_base_url.rstrip("/") + "/channels/twilio/status",
        api_base_url=settings.twilio_api_base_url,
    )
    return TwilioTransport(messenger)


def ehr_from_settings(settings: Settings) -> Ehr:
    """The EHR port as configured (raises ValueError on an incomplete SMART setup)."""
    return connect_ehr(
        base_url=settings.ehr_base_url,
        auth=settings.ehr_auth,
        smart_client_id=settings.ehr_smart_client_id or None,
        smart_key_file=settings.ehr_smart_key_file or None,
        smart_scope=settings.ehr_smart_scope,
        smart_alg=settings.ehr_smart_alg,
        timeout_s=settings.ehr_timeout_s,
    )
