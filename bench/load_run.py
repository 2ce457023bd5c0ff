"""The I/O of bench/load.py: one message with its deferrals, one conversation, the healthz
probe, the outbox reader for verification codes, and the seeded patients from the EHR."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from load_scripts import (
    CODE,
    DUMMY_CODE,
    Conversation,
    Patient,
    code_in,
    eligible_patients,
    phone_key,
)
from load_stats import (
    MessageResult,
    Probe,
    down_dependencies,
    event_loop_figures,
    parse_retry_after,
)

CODE_WAIT_S = 30.0  # how long a patient waits for the code's text message
OUTBOX_EVERY_S = 1.0  # at most one outbox read a second, shared by every waiting patient


@dataclass(frozen=True)
class Target:
    name: str  # "hub" or "rasa"
    url: str  # the REST webhook (the hub's), or Rasa's hub channel
    verifies: bool  # the hub can verify (outbox); bare Rasa gets DUMMY_CODE
    # Sent with every message: bare Rasa answers only the hub's secret (docs/security.md).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    """What one target's conversations did at one level; shared by its tasks."""

    results: list[MessageResult] = field(default_factory=list)
    unsent: int = 0
    verified: int = 0
    verify_wanted: int = 0


async def send(
    client: httpx.AsyncClient, url: str, sender: str, text: str, *, max_retries: int
) -> tuple[MessageResult, str]:
    """POST one message; a 503 waits Retry-After and sends it again (max_retries times)."""
    started = time.perf_counter()
    deferrals = 0
    for _ in range(max_retries + 1):
        try:
            response = await client.post(url, json={"sender": sender, "message": text})
        except httpx.TimeoutException:
            return MessageResult("timeout", deferrals=deferrals), ""
        except httpx.HTTPError:
            return MessageResult("error", deferrals=deferrals), ""
        if response.status_code == 503:
            deferrals += 1
            await asyncio.sleep(parse_retry_after(response.headers.get("retry-after")))
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return MessageResult("error", elapsed, deferrals), ""
        try:
            replies = response.json()
            said = " ".join(str(r.get("text") or "") for r in replies)
        except (ValueError, TypeError, AttributeError):
            return MessageResult("error", elapsed, deferrals), ""
        return MessageResult("answered", elapsed, deferrals, empty=not replies), said
    return MessageResult("deferred_out", deferrals=deferrals), ""


class CodeBox:
    """Verification codes as they land in the development outbox (`GET /dev/outbox.json`).

    `baseline()` marks what is already there; afterwards a new code to a phone belongs to the
    one conversation of the level verifying that phone's patient.
    """

    def __init__(self, client: httpx.AsyncClient, backend: str, service_token: str = "") -> None:
        self.client, self.url = client, f"{backend}/dev/outbox.json"
        # Without the service token the outbox masks one-time codes.
        self.headers = {"Authorization": f"Bearer {service_token}"} if service_token else {}
        self.seen: set[tuple[str, ...]] = set()
        self.codes: dict[str, list[str]] = {}
        self.read_at = 0.0
        self.lock = asyncio.Lock()

    async def _entries(self) -> list[dict[str, Any]]:
        try:
            response = await self.client.get(self.url, headers=self.headers, timeout=15)
            entries = response.json() if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict)]

    async def baseline(self) -> None:
        self.seen = {_key(e) for e in await self._entries()}
        self.codes.clear()

    async def _refresh(self) -> None:
        async with self.lock:
            if time.monotonic() - self.read_at < OUTBOX_EVERY_S:
                return
            entries = await self._entries()
            self.read_at = time.monotonic()
        for entry in reversed(entries):  # oldest first
            if _key(entry) in self.seen or entry.get("channel") != "sms":
                continue
            self.seen.add(_key(entry))
            if (code := code_in(str(entry.get("text", "")))) is not None:
                self.codes.setdefault(phone_key(str(entry.get("to", ""))), []).append(code)

    async def wait(self, phone: str, timeout_s: float = CODE_WAIT_S) -> str | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await self._refresh()
            if found := self.codes.get(phone_key(phone)):
                return found.pop()  # the newest: a new code voids the one before
            await asyncio.sleep(0.25)
        return None


def _key(entry: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(entry.get(k, "")) for k in ("at", "channel", "to", "text"))


async def converse(
    client: httpx.AsyncClient,
    target: Target,
    plan: Conversation,
    tally: Tally,
    codes: CodeBox | None,
    *,
    max_retries: int,
) -> None:
    """One patient: each message once the previous one is answered (or has failed)."""
    sender = f"{plan.sender}-{target.name}"
    said, pending = "", len(plan.texts)
    if target.verifies and plan.patient is not None and CODE in plan.texts:
        tally.verify_wanted += 1
    try:
        for planned in plan.texts:
            text = planned
            if planned == CODE:
                code = await _code(target, plan.patient, said, codes)
                if code is None:  # not asked for one, or none arrived: skip this message
                    pending -= 1
                    continue
                text = code
            sending = time.perf_counter()
            try:
                result, said = await send(client, target.url, sender, text, max_retries=max_retries)
            except asyncio.CancelledError:
                waited = (time.perf_counter() - sending) * 1000
                tally.results.append(MessageResult("cancelled", waited))
                pending -= 1
                raise
            tally.results.append(result)
            pending -= 1
            if plan.patient is not None and "you're confirmed" in said.lower():
                tally.verified += 1
    finally:
        tally.unsent += pending


async def _code(
    target: Target, patient: Patient | None, said: str, codes: CodeBox | None
) -> str | None:
    if not target.verifies:
        return DUMMY_CODE
    if patient is None or codes is None or "6-digit code" not in said.lower():
        return None
    return await codes.wait(patient.phone)


async def probe_health(
    client: httpx.AsyncClient, url: str, stop: asyncio.Event, *, max_probes: int
) -> list[Probe]:
    """GET healthz every 0.5 s (1 s timeout) until `stop` is set or max_probes were made."""
    probes: list[Probe] = []
    while not stop.is_set() and len(probes) < max_probes:
        started = time.perf_counter()
        try:
            response = await client.get(url, timeout=1.0)
            elapsed = (time.perf_counter() - started) * 1000
            try:
                body = response.json()
            except ValueError:
                body = None
            loop, down = event_loop_figures(body), down_dependencies(body)
            probes.append(Probe(elapsed, response.status_code, loop, down))
        except httpx.HTTPError:
            probes.append(Probe((time.perf_counter() - started) * 1000, None))
        rest = 0.5 - (time.perf_counter() - started)
        if rest > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rest)
    return probes


async def seeded_patients(ehr: str) -> list[Patient]:
    """Patients of the seeded EHR fit for verification; [] if the EHR cannot be read."""
    resources: list[dict[str, Any]] = []
    url: str | None = f"{ehr}/Patient?_count=500"
    async with httpx.AsyncClient(timeout=15) as client:
        for _ in range(20):  # pages
            if url is None:
                break
            try:
                bundle = (await client.get(url)).json()
            except (httpx.HTTPError, ValueError):
                return []
            resources += [e.get("resource") or {} for e in bundle.get("entry") or []]
            links = bundle.get("link") or []
            url = next((link.get("url") for link in links if link.get("relation") == "next"), None)
    return eligible_patients(resources)
