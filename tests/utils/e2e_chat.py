"""Talking to the running e2e stack as a patient would, on each channel's real route.

Every channel is driven the same way: `say(text, expect=...)` sends one message through the
channel's webhook (or socket) and returns the assistant's new replies, joined, once they
match `expect`. The REST channel and the web chat answer in the same exchange; SMS, WhatsApp and
Telegram answer through the provider, which in development is the hub's outbox
(`GET /dev/outbox.json`), read here until the expected reply has arrived.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol

import httpx
import psycopg
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from backend.ehr import FhirHttpEhr
from backend.ehr.domain import Appointment, PatientSummary
from backend.ehr.errors import NotFound
from backend.identity.phones import to_e164
from scripts.stack import StackConfig
from scripts.stack_scaled import postgres
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.rest_client import rest_clients
from tests.utils.twilio_double import form_body, sign

TWILIO_AUTH_TOKEN = "e2e-twilio-auth-token-0123456789"
TELEGRAM_SECRET = "e2e-telegram-secret-0123456789"
PUBLIC_BASE_URL = "https://hub.e2e.example.org"
CLINIC_SMS_NUMBER = "+15550100000"  # the "To" of inbound texts (any number: no account is set)
REPLY_WAIT_S = 60.0  # a generous ceiling for one turn on 2 busy cores, not a measured bound
STACK_SETTINGS = {
    "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
    # Every test conversation comes from 127.0.0.1, which the identity limits count as one
    # source (a stranger's address); the suite verifies far more patients than a stranger may
    # try in an hour. The per-source limits have their own tests (test_identity_sources.py).
    "IDENTITY_SOURCE_STARTS_PER_HOUR": "100000",
    "IDENTITY_SOURCE_MAX_FAILURES": "100000",
    # The REST channel on for the tests' client; the rate limits far above the suite's traffic
    # (they have their own tests: tests/backend/test_rate_limits*.py).
    "REST_CLIENTS": json.dumps(rest_clients()),
    "RATE_LIMIT_PER_ADDRESS": "100000/minute",
    "RATE_LIMIT_PER_CLIENT": "1000000/minute",
}
OFFERS = re.compile(r"Which one would you like|nearest free times|but another|but there is")
_ids = count(1)


class Chat(Protocol):
    """One patient's conversation on one channel."""

    def say(self, text: str, *, expect: str | re.Pattern[str]) -> str: ...

    def pick(self, index: int, *, expect: str | re.Pattern[str]) -> str: ...


def matches(text: str, expect: str | re.Pattern[str]) -> bool:
    if isinstance(expect, str):
        return expect.lower() in text.lower()
    return bool(expect.search(text))


def _joined(parts: list[str]) -> str:
    """Replies as one text: SMS segment numbers dropped, whitespace collapsed."""
    unnumbered = [re.sub(r"^\(\d+/\d+\) ", "", p) for p in parts]
    return re.sub(r"\s+", " ", " ".join(unnumbered)).strip()


class RestChat:
    """POST /channels/rest/webhook: the replies come back in the response."""

    def __init__(self, stack: StackConfig, sender: str) -> None:
        self.stack, self.sender = stack, sender

    def say(self, text: str, *, expect: str | re.Pattern[str]) -> str:
        response = httpx.post(
            f"{self.stack.backend_url}/channels/rest/webhook",
            json={"sender": self.sender, "message": text},
            headers=REST_HEADERS,
            timeout=REPLY_WAIT_S,
        )
        assert response.status_code == 200, response.text
        said = _joined([r.get("text") or "" for r in response.json()])
        if not matches(said, expect):
            events = latest_rasa_events(self.stack)
            raise AssertionError(f"after {text!r} expected {expect!r}, got {said!r}\n{events}")
        return said

    def pick(self, index: int, *, expect: str | re.Pattern[str]) -> str:
        return self.say(str(index + 1), expect=expect)


def latest_rasa_events(stack: StackConfig, count: int = 40) -> str:
    """The last events Rasa stored (any conversation): what it understood and did, to explain
    a failed expectation. The scaled profile's tracker store is on PostgreSQL."""
    if stack.scaled:
        url = postgres(stack).postgres_url(stack.rasa_db)
        with psycopg.connect(url) as pg:
            query = "SELECT data FROM events ORDER BY id DESC LIMIT %s"
            rows = pg.execute(query, (count,)).fetchall()
    else:
        with sqlite3.connect(stack.var_dir / "rasa" / "tracker.db") as connection:
            rows = connection.execute(
                "SELECT data FROM events ORDER BY id DESC LIMIT ?", (count,)
            ).fetchall()
    lines = []
    for (data,) in reversed(rows):
        event = json.loads(data)
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        detail = event.get("name") or event.get("text") or ""
        value = json.dumps(event.get("value"))[:120] if "value" in event else ""
        lines.append(f"{event['event']} {detail} {intent or ''} {value}".strip())
    return "\n".join(lines)


class Outbox:
    """The development outbox: what would have been sent to a number or chat."""

    def __init__(self, stack: StackConfig) -> None:
        self.stack = stack
        self.seen: set[tuple[str, str, str, str]] = set()
        # One-time codes are masked for callers without the service token.
        self.headers = {"Authorization": f"Bearer {stack.process_env()['SERVICE_TOKEN']}"}

    def _entries(self) -> list[dict[str, str]]:
        response = httpx.get(
            f"{self.stack.backend_url}/dev/outbox.json", headers=self.headers, timeout=15
        )
        response.raise_for_status()
        return list(reversed(response.json()))  # oldest first

    def mark_read(self, channel: str, to: str) -> None:
        for entry in self._entries():
            if entry["channel"] == channel and _number(entry["to"]) == _number(to):
                self.seen.add(_key(entry))

    def wait_for(self, channel: str, to: str, expect: str | re.Pattern[str]) -> str:
        """New messages to `to` until one matches, joined; fails after REPLY_WAIT_S."""
        arrived: list[str] = []
        with httpx.Client(timeout=15) as client:
            deadline = time.monotonic() + REPLY_WAIT_S
            while True:
                entries = client.get(
                    f"{self.stack.backend_url}/dev/outbox.json", headers=self.headers
                ).json()
                for entry in reversed(entries):
                    mine = entry["channel"] == channel and _number(entry["to"]) == _number(to)
                    if mine and _key(entry) not in self.seen:
                        self.seen.add(_key(entry))
                        arrived.append(entry["text"])
                said = _joined(arrived)
                if matches(said, expect):
                    return said
                if time.monotonic() > deadline:
                    raise AssertionError(f"no reply matching {expect!r} to {channel}; got {said!r}")
                time.sleep(0.2)  # the replies leave in a background task after the webhook


def _number(address: str) -> str:
    """The address without WhatsApp's "whatsapp:" prefix (the outbox may keep either)."""
    return address.removeprefix("whatsapp:")


def _key(entry: dict[str, str]) -> tuple[str, str, str, str]:
    return entry["at"], entry["channel"], entry["to"], entry["text"]


class TwilioChat:
    """SMS or WhatsApp through /channels/twilio/{channel}, signed as Twilio signs."""

    def __init__(self, stack: StackConfig, channel: str, phone: str) -> None:
        self.stack, self.channel, self.phone = stack, channel, phone
        self.address = f"whatsapp:{phone}" if channel == "whatsapp" else phone
        self.outbox = Outbox(stack)
        self.outbox.mark_read(channel, self.address)

    def post(self, text: str) -> httpx.Response:
        prefix = "whatsapp:" if self.channel == "whatsapp" else ""
        form = {
            "MessageSid": f"SM{next(_ids):032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": self.address,
            "To": prefix + CLINIC_SMS_NUMBER,
            "Body": text,
            "NumMedia": "0",
        }
        path = f"/channels/twilio/{self.channel}"
        return httpx.post(
            self.stack.backend_url + path,
            content=form_body(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL + path, form),
            },
            timeout=REPLY_WAIT_S,
        )

    def say(self, text: str, *, expect: str | re.Pattern[str]) -> str:
        response = self.post(text)
        assert response.status_code == 200, response.text
        return self.outbox.wait_for(self.channel, self.address, expect)

    def pick(self, index: int, *, expect: str | re.Pattern[str]) -> str:
        return self.say(str(index + 1), expect=expect)  # options are numbered in the text


class TelegramChat:
    """Telegram updates posted to /channels/telegram with the webhook's secret token."""

    def __init__(self, stack: StackConfig, chat_id: int) -> None:
        self.stack, self.chat_id = stack, chat_id
        self.outbox = Outbox(stack)
        self.outbox.mark_read("telegram", str(chat_id))

    def post(self, update: dict[str, Any], secret: str = TELEGRAM_SECRET) -> httpx.Response:
        return httpx.post(
            f"{self.stack.backend_url}/channels/telegram",
            json={"update_id": next(_ids), **update},
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            timeout=REPLY_WAIT_S,
        )

    def _chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "private"}

    def say(self, text: str, *, expect: str | re.Pattern[str]) -> str:
        message = {"message_id": next(_ids), "date": 0, "chat": self._chat(), "text": text}
        response = self.post({"message": message})
        assert response.status_code == 200 and response.json()["ok"], response.text
        return self.outbox.wait_for("telegram", str(self.chat_id), expect)

    def pick(self, index: int, *, expect: str | re.Pattern[str]) -> str:
        """Press the inline keyboard's button `index` (callback data "choice:<index>")."""
        callback = {
            "id": f"cb{next(_ids)}",
            "data": f"choice:{index}",
            "message": {"message_id": next(_ids), "date": 0, "chat": self._chat()},
        }
        response = self.post({"callback_query": callback})
        assert response.status_code == 200 and response.json()["ok"], response.text
        return self.outbox.wait_for("telegram", str(self.chat_id), expect)


class WebChat:
    """The web chat's WebSocket (/ws/chat): a session frame, then message and choice frames."""

    def __init__(self, stack: StackConfig) -> None:
        self.socket: ClientConnection = connect(
            f"ws://127.0.0.1:{stack.backend_port}/ws/chat",
            origin=Origin(stack.backend_url),  # the hub's own page (development's default)
            open_timeout=15,
        )
        self.socket.send(json.dumps({"type": "hello"}))
        session = self._frame()
        assert session["type"] == "session", session
        assert self._frame()["type"] == "history"

    def _frame(self) -> dict[str, Any]:
        return dict(json.loads(self.socket.recv(timeout=REPLY_WAIT_S)))

    def _until(self, expect: str | re.Pattern[str]) -> str:
        said: list[str] = []
        while not matches(_joined(said), expect):
            frame = self._frame()
            assert frame["type"] in {"typing", "bot"}, frame
            if frame["type"] == "bot":
                said.append(frame["text"])
        return _joined(said)

    def say(self, text: str, *, expect: str | re.Pattern[str]) -> str:
        self.socket.send(json.dumps({"type": "message", "text": text}))
        return self._until(expect)

    def pick(self, index: int, *, expect: str | re.Pattern[str]) -> str:
        self.socket.send(json.dumps({"type": "choice", "index": index}))
        return self._until(expect)

    def close(self) -> None:
        self.socket.close()


@dataclass(frozen=True)
class SeedPatient:
    """A seeded patient who can be verified unambiguously."""

    summary: PatientSummary
    phone: str  # E.164, the number on file (where the code goes)

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def birth_date_text(self) -> str:
        born = self.summary.birth_date
        assert born is not None
        return f"{born.day} {born:%B %Y}"


_handed_out: set[str] = set()


async def fresh_patients(stack: StackConfig, wanted: int) -> list[SeedPatient]:
    """`wanted` patients no other caller got, each the only one with their phone number and
    the only one with their name and birth date (so verifying them asks no "which one")."""
    ehr = FhirHttpEhr(stack.ehr_base_url, timeout_s=15.0)
    found: list[SeedPatient] = []
    try:
        for n in range(1, 200):
            pid = f"pat-{n:03d}"
            if pid in _handed_out:
                continue
            try:
                patient = await ehr.get_patient(pid)
            except NotFound:
                break
            phone = next((p for raw in patient.phones if (p := to_e164(raw))), None)
            if phone is None or patient.birth_date is None:
                continue
            if len(await ehr.find_patients_by_phone(phone)) != 1:
                continue
            namesakes = await ehr.find_patients_by_name(
                family=patient.family, given=patient.given, birth_date=patient.birth_date
            )
            if len(namesakes) != 1:
                continue
            _handed_out.add(pid)
            found.append(SeedPatient(patient, phone))
            if len(found) == wanted:
                return found
    finally:
        await ehr.aclose()
    raise AssertionError(f"the seed has fewer than {wanted} patients fit for a booking test")


def verification_code(outbox: Outbox, patient: SeedPatient) -> str:
    """The 6-digit code texted to the patient's number on file."""
    said = outbox.wait_for("sms", patient.phone, "verification code is")
    codes = re.findall(r"verification code is (\d{6})", said)
    assert codes, said
    return codes[-1]


def verify_in_conversation(chat: Chat, patient: SeedPatient, outbox: Outbox, *, by_phone: bool):
    """Answer the identity questions; the code comes from the outbox as the patient's SMS.

    The phone channels know the sender's number and ask only the birth date; the others ask
    the name first. Returns what the assistant said once the patient was confirmed.
    """
    if not by_phone:
        chat.say(patient.summary.family, expect="first name")
        chat.say(patient.summary.given, expect="date of birth")
    chat.say(patient.birth_date_text, expect="6-digit code here")
    return chat.say(verification_code(outbox, patient), expect="you're confirmed")


def appointments(stack: StackConfig, patient_id: str) -> list[Appointment]:
    """Every appointment of the patient as the EHR holds it, earliest first."""

    async def listed() -> list[Appointment]:
        ehr = FhirHttpEhr(stack.ehr_base_url, timeout_s=15.0)
        try:
            return await ehr.list_appointments(patient_id=patient_id)
        finally:
            await ehr.aclose()

    return asyncio.run(listed())


def slot_status(stack: StackConfig, slot_id: str) -> str:
    """The status of a Slot in the EHR ("free", "busy", ...)."""
    response = httpx.get(f"{stack.ehr_base_url}/Slot/{slot_id}", timeout=15)
    response.raise_for_status()
    return str(response.json()["status"])
