"""The scheduler process: `python -m backend.outreach run` (scripts/stack.py starts it).

It owns the outreach jobs (exactly one such process per database), answers GET /health on
127.0.0.1:OUTREACH_HEALTH_PORT, and stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.session import make_engine, make_session_factory
from backend.db.work import DbWork
from backend.hub.outbound import PhoneOutbound
from backend.hub.rasa_gateway import HttpRasaGateway
from backend.hub.telegram_outbound import TelegramOutbound
from backend.services import ehr_from_settings, phone_transport

from .dispatch import Dispatcher
from .kinds import OutreachConfig
from .pacing import Pacer
from .scheduler import OutreachRuntime, make_scheduler

logger = logging.getLogger("backend.outreach")


async def serve(settings: Settings) -> None:
    """Run the scheduler until a termination signal."""
    engine = make_engine(settings.effective_database_url, pool_size=settings.db_threads)
    session_factory = make_session_factory(engine)
    # The channel senders' database steps run in these threads (backend/db/work.py).
    db = DbWork(session_factory, threads=settings.db_threads)
    cipher = Cipher.from_settings(settings)
    ehr = ehr_from_settings(settings)
    rasa = HttpRasaGateway(settings.rasa_instances, settings.rasa_token, settings.rasa_timeout_s)
    telegram = TelegramOutbound(
        db=db,
        cipher=cipher,
        bot_token=settings.telegram_bot_token,
        api_base_url=settings.telegram_api_base_url,
    )
    dispatcher = Dispatcher(
        session_factory=session_factory,
        db=db,
        cipher=cipher,
        ehr=ehr,
        rasa=rasa,
        config=OutreachConfig.from_settings(settings),
        phone=PhoneOutbound(
            db=db,
            cipher=cipher,
            transport=phone_transport(settings, session_factory=session_factory, cipher=cipher),
            whatsapp_templates=settings.twilio_whatsapp_templates,
        ),
        telegram=telegram,
        pacer=Pacer(settings.outreach_max_per_second),
    )
    runtime = OutreachRuntime(dispatcher, make_scheduler(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = await asyncio.start_server(_answer_health, "127.0.0.1", settings.outreach_health_port)
    try:
        if await _started(runtime, stop):
            await stop.wait()
    finally:
        runtime.shutdown()
        health.close()
        await health.wait_closed()
        await telegram.aclose()
        await rasa.close()
        await ehr.aclose()
        engine.dispose()
    logger.info("outreach scheduler stopped")


async def _started(runtime: OutreachRuntime, stop: asyncio.Event) -> bool:
    """Start the runtime unless told to stop first; False when stopped while starting.

    Starting settles interrupted sends and reads every contact's plan from the EHR, which
    takes as long as the EHR does. A stop then cancels it: an interrupted start is settled
    by the next one, as after a crash.
    """
    starting = asyncio.create_task(runtime.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        logger.info("outreach scheduler stopped while starting")
        return False
    recovered = starting.result()
    logger.info("outreach scheduler running (%d interrupted sends settled)", len(recovered))
    return True


async def _answer_health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """200 to any request: the process is up and its scheduler loop is answering."""
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        writer.close()
        return
    body = b'{"status":"ok"}'
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()
