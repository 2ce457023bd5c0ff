"""Kill the real scheduler process in the middle of a dispatch and restart it: every due
reminder reaches the provider double exactly once.

The process (`python -m backend.outreach run`) runs against a SQLite file, a FHIR double
(tests/utils/outreach_doubles.py), a Rasa double and the Twilio double. Where it dies is
made deterministic from outside, with no hook in the code: the Rasa double answers the first
few `trigger_intent` calls and holds every later one, so the process sits in the middle of a
batch (every reminder claimed, a few handed to Twilio and recorded, the rest waiting for
their words) when the test sends SIGKILL. The one window this cannot cover, and no test
can, is a kill between Twilio accepting a message and the delivery row's commit (see
docs/outreach.md, "Exactly once, and restarts"); the test waits for the delivery rows of
the messages Twilio took before it kills, so it never lands there by chance.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.core.crypto import Cipher
from backend.db.migrate import upgrade
from backend.db.models import Conversation, OutboundDelivery, OutreachOutbox
from backend.db.session import make_engine, make_session_factory
from backend.outreach.contacts import remember_contact
from backend.outreach.kinds import REMINDER
from scripts.stack import free_port
from tests.utils.outreach_doubles import FhirAppointmentsDouble, RasaTriggerDouble
from tests.utils.twilio_channel import twilio_overrides
from tests.utils.twilio_double import TwilioDouble

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-encryption-key-0123456789"
PATIENTS = 100  # more than one batch of the scheduler (64)
BEFORE_KILL = 5  # reminders the Rasa double lets through before the kill


def phone(i: int) -> str:
    return f"+1555200{i:04d}"


class Stack:
    """The doubles, the database and the environment of one scheduler process."""

    def __init__(self, tmp: Path, fhir: FhirAppointmentsDouble, rasa: RasaTriggerDouble) -> None:
        self.twilio = TwilioDouble().start()
        self.fhir = fhir
        self.rasa = rasa
        self.database_url = f"sqlite:///{tmp / 'backend.db'}"
        upgrade(self.database_url)
        self.engine = make_engine(self.database_url)
        self.sessions = make_session_factory(self.engine)
        overrides = twilio_overrides(self.twilio.base_url)
        self.env = {
            **os.environ,
            **{name.upper(): str(value) for name, value in overrides.items()},
            "ENV": "test",
            "VAR_DIR": str(tmp),
            "DATABASE_URL": self.database_url,
            "ENCRYPTION_KEY": KEY,
            "SERVICE_TOKEN": "test-service-token-0123456789",
            "RASA_TOKEN": "test-rasa-token-0123456789",
            "RASA_URL": rasa.base_url,
            "EHR_BASE_URL": f"{fhir.base_url}/fhir",
            "OUTREACH_SEND_FROM": "00:00",  # no quiet hours: the test runs at any hour
            "OUTREACH_SEND_UNTIL": "00:00",
            "OUTREACH_HEALTH_PORT": str(free_port()),
        }

    def seed(self, count: int) -> None:
        """`count` patients on SMS, each with a visit in 47 h: the 48 h reminder is due."""
        cipher = Cipher(KEY)
        visit = datetime.now(UTC) + timedelta(hours=47)
        with self.sessions() as session:
            for i in range(count):
                number = phone(i)
                conversation = Conversation(
                    channel="sms",
                    address_hash=cipher.address_hash("sms", number),
                    address_ciphertext=cipher.encrypt(number),
                )
                session.add(conversation)
                session.commit()
                remember_contact(
                    session=session,
                    cipher=cipher,
                    patient_id=f"pat-kill-{i}",
                    conversation_id=conversation.id,
                    consents=[REMINDER],
                )
                self.fhir.add_appointment(f"appt-kill-{i}", f"pat-kill-{i}", visit)

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "backend.outreach", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def count(self, query: object) -> int:
        with self.sessions() as session:
            return int(session.scalar(query) or 0)  # type: ignore[call-overload]

    def deliveries(self) -> int:
        return self.count(select(func.count()).select_from(OutboundDelivery))

    def outbox(self, status: str) -> int:
        return self.count(select(func.count()).where(OutreachOutbox.status == status))

    def close(self) -> None:
        self.twilio.stop()
        self.engine.dispose()


async def eventually(condition: object, what: str, child: subprocess.Popen[bytes]) -> None:
    """Wait (up to two minutes on a busy machine) until `condition()` holds."""
    for _ in range(1200):
        if condition():  # type: ignore[operator]
            return
        assert child.poll() is None, f"the scheduler process exited while waiting for {what}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    fhir = await FhirAppointmentsDouble().start()
    rasa = await RasaTriggerDouble(answer_first=BEFORE_KILL).start()
    built = Stack(tmp_path, fhir, rasa)
    try:
        yield built
    finally:
        built.close()
        await rasa.stop()
        await fhir.stop()


async def test_a_killed_scheduler_sends_every_due_reminder_exactly_once_after_restart(
    stack: Stack,
) -> None:
    stack.seed(PATIENTS)

    first = stack.start()
    try:
        # In the middle of a dispatch: five reminders handed over and recorded, the others
        # claimed (or still queued) and waiting for their words.
        await eventually(lambda: stack.rasa.held > 0, "a held Rasa call", first)
        await eventually(lambda: stack.deliveries() == BEFORE_KILL, "the first deliveries", first)
        assert len(stack.twilio.sent) == BEFORE_KILL
        assert stack.outbox("sending") > 0
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)

    stack.rasa.release()  # Rasa answers everything from now on
    second = stack.start()
    try:
        await eventually(lambda: stack.outbox("sent") == PATIENTS, "every reminder sent", second)
        await asyncio.sleep(1)  # anything sent twice would be on its way by now
    finally:
        second.send_signal(signal.SIGTERM)
        # Waited for off the event loop: the doubles it may still be talking to while it
        # stops (the EHR's, Rasa's) answer from this loop, and a blocked loop kept it waiting.
        await asyncio.to_thread(second.wait, 30)

    received = Counter(message.form["To"] for message in stack.twilio.sent)
    assert received == Counter({phone(i): 1 for i in range(PATIENTS)})
    assert stack.outbox("sending") == 0
