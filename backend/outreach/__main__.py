"""Operators' commands for outreach (docs/outreach.md):

python -m backend.outreach run                      # the scheduler process
python -m backend.outreach status                   # what is scheduled, what was sent
python -m backend.outreach pause results_ready      # stop one kind for everyone
python -m backend.outreach resume results_ready
python -m backend.outreach contact --patient ID --sms +15550001111   # demos and seeds
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from backend.core.config import Settings, get_settings
from backend.core.crypto import Cipher
from backend.db.session import make_engine, make_session_factory
from backend.hub import transcript

from . import outbox
from .contacts import UnknownKind, paused_kinds, remember_contact, set_paused
from .kinds import ALL_KINDS
from .process import serve
from .scheduler import job_store, pending_jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.outreach")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the scheduler process")
    commands.add_parser("status", help="list scheduled jobs, recent sends and paused kinds")
    for name in ("pause", "resume"):
        sub = commands.add_parser(name, help=f"{name} one kind of message")
        sub.add_argument("kind", choices=ALL_KINDS)
    contact = commands.add_parser("contact", help="reach a patient on a conversation")
    contact.add_argument("--patient", required=True, help="FHIR Patient id")
    where = contact.add_mutually_exclusive_group(required=True)
    where.add_argument("--conversation", help="an existing conversation id")
    where.add_argument("--sms", help="an E.164 number (its SMS conversation is created)")
    contact.add_argument("--kinds", default=",".join(ALL_KINDS), help="comma-separated kinds")
    contact.add_argument("--timezone", default=None, help="IANA zone, e.g. Europe/Paris")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "run":
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        asyncio.run(serve(settings))
        return 0
    if args.command == "status":
        return _status(settings)
    try:
        if args.command in ("pause", "resume"):
            return _pause(settings, args.kind, paused=args.command == "pause")
        return _contact(settings, args)
    except (UnknownKind, ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _status(settings: Settings) -> int:
    engine = make_engine(settings.effective_database_url)
    zone = ZoneInfo(settings.patients_timezone)
    scheduler = BackgroundScheduler(jobstores={"default": job_store(engine)})
    scheduler.start(paused=True)  # read the store without running anything
    try:
        jobs = pending_jobs(scheduler)
    finally:
        scheduler.shutdown(wait=False)
    with make_session_factory(engine)() as session:
        paused = sorted(paused_kinds(session=session))
        sent = outbox.recent(session=session)
    print(f"paused kinds: {', '.join(paused) or 'none'}")
    print(f"scheduled ({len(jobs)}), times in {zone.key}:")
    for job_id, at in jobs:
        print(f"  {at.astimezone(zone):%Y-%m-%d %H:%M}  {job_id}" if at else f"  paused  {job_id}")
    print(f"recent ({len(sent)}):")
    for row in sent:
        print(f"  {row.claimed_at.astimezone(zone):%Y-%m-%d %H:%M}  {row.status:<22} {row.job_id}")
    engine.dispose()
    return 0


def _pause(settings: Settings, kind: str, *, paused: bool) -> int:
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session:
        set_paused(session=session, kind=kind, paused=paused)
    engine.dispose()
    print(f"{kind}: {'paused' if paused else 'resumed'}")
    return 0


def _contact(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.effective_database_url)
    cipher = Cipher.from_settings(settings)
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    with make_session_factory(engine)() as session:
        conversation_id = args.conversation
        if args.sms:
            conversation_id = transcript.get_or_create_conversation(
                session=session, cipher=cipher, channel="sms", address=args.sms
            ).id
        remember_contact(
            session=session,
            cipher=cipher,
            patient_id=args.patient,
            conversation_id=conversation_id,
            consents=kinds,
            timezone=args.timezone,
        )
    engine.dispose()
    print(f"outreach contact saved on conversation {conversation_id}: {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
