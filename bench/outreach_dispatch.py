"""Outreach throughput: N due appointment reminders through the real scheduler path
(APScheduler + SQLAlchemy job store, outbox, Rasa trigger, PhoneOutbound, Twilio client) to a
local double of Twilio's Messages API; then the same with a provider rate limit on.

    .venv/bin/python bench/outreach_dispatch.py                    # 10,000 reminders, no limit
    .venv/bin/python bench/outreach_dispatch.py --limited 300 --rate 100

Target: >= 200 messages/s with the limit off; with it on, never faster than the limit.
The EHR and Rasa are in-process stand-ins (indexed lookups, canned words): this measures the
scheduler, the database and the provider path, not the FHIR server or the dialogue model.
The Twilio double runs in its own process, as Twilio is not in ours (`--double-in-process`
puts it in this one, where its HTTP server competes with the scheduler for the GIL).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.core.config import Settings  # noqa: E402
from backend.core.crypto import Cipher  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.db.models import Conversation, OutreachContact, OutreachOutbox  # noqa: E402
from backend.db.session import make_engine, make_session_factory  # noqa: E402
from backend.db.work import DbWork  # noqa: E402
from backend.ehr import Ehr  # noqa: E402
from backend.ehr.domain import Appointment  # noqa: E402
from backend.hub.outbound import PhoneOutbound  # noqa: E402
from backend.outreach.contacts import patient_hash  # noqa: E402
from backend.outreach.dispatch import Dispatcher  # noqa: E402
from backend.outreach.kinds import REMINDER, OutreachConfig  # noqa: E402
from backend.outreach.pacing import Pacer  # noqa: E402
from backend.outreach.scheduler import OutreachRuntime, make_scheduler  # noqa: E402
from backend.services import phone_transport  # noqa: E402
from channels.base import Reply  # noqa: E402
from tests.utils.twilio_channel import twilio_overrides  # noqa: E402
from tests.utils.twilio_double import TwilioDouble  # noqa: E402


class IndexedEhr:
    """Each patient's one booked appointment, 47 h from now (its 48 h reminder is due)."""

    def __init__(self, patients: list[str], start: datetime) -> None:
        self._appointments = {
            pid: [Appointment(f"appt-{i}", "booked", start, start, pid)]
            for i, pid in enumerate(patients)
        }

    async def list_appointments(self, *, patient_id: str, since: Any = None) -> list[Appointment]:
        return self._appointments.get(patient_id, [])

    async def released_lab_reports(self, *, patient_id: str, since: Any = None) -> list[Any]:
        return []

    async def medication_requests(self, *, patient_id: str, active_only: bool = False) -> list:
        return []

    async def refill_tasks(self, *, patient_id: str) -> list[Any]:
        return []


class CannedRasa:
    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, str]
    ) -> list[Reply]:
        return [Reply(text="Reminder: you have an appointment. Reply C to confirm.")]


DOUBLE_PROCESS = """
import sys
from tests.utils.twilio_double import TwilioDouble
double = TwilioDouble().start()
print(double.base_url, flush=True)
sys.stdin.read()  # until the bench closes it
print(len(double.sent), flush=True)
double.stop()
"""


class Provider:
    """The Twilio double, in this process or its own; `count()` = requests it received."""

    def __init__(self, *, in_process: bool) -> None:
        self._double: TwilioDouble | None = None
        self._child: subprocess.Popen[str] | None = None
        if in_process:
            self._double = TwilioDouble().start()
            self.base_url = self._double.base_url
            return
        self._child = subprocess.Popen(
            [sys.executable, "-c", DOUBLE_PROCESS],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        self.base_url = self._child.stdout.readline().strip()

    def count(self) -> int:
        """Stop the double; how many messages it took."""
        if self._double is not None:
            self._double.stop()
            return len(self._double.sent)
        assert self._child is not None and self._child.stdout is not None
        out, _ = self._child.communicate(timeout=60)  # closes stdin: the double reports
        return int(out.split()[0])


async def run(
    count: int, rate: float, tmp: Path, *, in_process: bool = False
) -> tuple[float, float, int]:
    """(seconds to plan, seconds to dispatch, messages at the provider)."""
    tmp.mkdir(parents=True, exist_ok=True)
    double = Provider(in_process=in_process)
    received: int | None = None
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="test",
            var_dir=tmp,
            database_url=f"sqlite:///{tmp / 'bench.db'}",
            encryption_key="bench-encryption-key-0123456789",
            service_token="bench-service-token-0123456789",
            rasa_token="bench-rasa-token-0123456789",
            outreach_send_from="00:00",
            outreach_send_until="00:00",  # no quiet hours: the bench can run at any time
            **twilio_overrides(double.base_url),  # type: ignore[arg-type]
        )
        upgrade(settings.effective_database_url)
        engine = make_engine(settings.effective_database_url)
        sessions = make_session_factory(engine)
        cipher = Cipher(settings.encryption_key)
        patients = [f"pat-bench-{i}" for i in range(count)]
        with sessions() as session:
            for i, pid in enumerate(patients):
                phone = f"+1555{i:07d}"
                conversation = Conversation(
                    channel="sms",
                    address_hash=cipher.address_hash("sms", phone),
                    address_ciphertext=cipher.encrypt(phone),
                )
                session.add(conversation)
                session.flush()
                session.add(
                    OutreachContact(
                        patient_hash=patient_hash(cipher, pid),
                        patient_ciphertext=cipher.encrypt(pid),
                        conversation_id=conversation.id,
                        consents=[REMINDER],
                    )
                )
            session.commit()
        db = DbWork(sessions, threads=settings.db_threads)
        dispatcher = Dispatcher(
            session_factory=sessions,
            db=db,
            cipher=cipher,
            ehr=cast(Ehr, IndexedEhr(patients, datetime.now(UTC) + timedelta(hours=47))),
            rasa=CannedRasa(),
            config=OutreachConfig.from_settings(settings),
            phone=PhoneOutbound(
                db=db,
                cipher=cipher,
                transport=phone_transport(settings, session_factory=sessions, cipher=cipher),
            ),
            pacer=Pacer(rate),
        )
        runtime = OutreachRuntime(dispatcher, make_scheduler(engine))
        executed = 0
        finished = asyncio.Event()

        def listener(event: JobExecutionEvent) -> None:
            nonlocal executed
            if event.job_id.startswith("reminder:"):
                executed += 1
                if executed >= count:
                    finished.set()

        runtime.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        began = time.perf_counter()
        await runtime.start(paused=True)  # recover + sync: one job per due reminder
        planned = time.perf_counter()
        runtime.scheduler.resume()
        await asyncio.wait_for(finished.wait(), timeout=3600)
        done = time.perf_counter()
        runtime.shutdown()
        with sessions() as session:
            sent = session.scalar(select(func.count()).where(OutreachOutbox.status == "sent"))
        engine.dispose()
        received = double.count()
        assert sent == count == received, (sent, count, received)
        return planned - began, done - planned, received
    finally:
        if received is None:
            double.count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders, no limit")
    parser.add_argument("--limited", type=int, default=300, help="reminders with the limit on")
    parser.add_argument("--rate", type=float, default=100.0, help="the limit, messages/s")
    parser.add_argument(
        "--double-in-process", action="store_true", help="run the Twilio double in this process"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    inside = args.double_in_process
    with tempfile.TemporaryDirectory() as tmp:
        plan_s, send_s, sent = asyncio.run(
            run(args.count, 0, Path(tmp) / "free", in_process=inside)
        )
        print(f"no limit: {sent} reminders planned in {plan_s:.1f} s, sent in {send_s:.1f} s")
        print(f"          {sent / send_s:.0f} messages/s (target >= 200)")
        _, limited_s, limited = asyncio.run(
            run(args.limited, args.rate, Path(tmp) / "limited", in_process=inside)
        )
        floor = (limited - 1) / args.rate
        print(
            f"limit {args.rate:g}/s: {limited} reminders in {limited_s:.2f} s "
            f"({limited / limited_s:.0f}/s; the limit allows no less than {floor:.2f} s)"
        )
        return 0 if limited_s >= floor else 1


if __name__ == "__main__":
    sys.exit(main())
