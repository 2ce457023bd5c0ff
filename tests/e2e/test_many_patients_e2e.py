"""64 patients at once through the live stack (issue 18): every message answered or
explicitly deferred (503 with Retry-After, then sent again), each conversation's replies in
the order of its messages, the hub healthy afterwards, and no event-loop stall over 250 ms
while they wrote, as the hub's own lag monitor measured it."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import httpx
import pytest

from scripts.stack import StackConfig
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.e2e

CONVERSATIONS = 64
MAX_DEFERRALS = 30  # per message; each waits the hub's Retry-After
# What each message is for, and a piece of the answer that shows it answers that message.
SCRIPT: list[tuple[str, re.Pattern[str]]] = [
    ("hello", re.compile(r"assistant", re.I)),
    ("what can you do?", re.compile(r"appointments", re.I)),
    ("are you a bot?", re.compile(r"automated assistant", re.I)),
    # Last, since it starts triage's questions; the actions call the backend (triage, EHR).
    ("I have had a headache since yesterday", re.compile(r"\?")),
]
STALL_MS = 250.0


@dataclass
class Tally:
    answered: int = 0
    deferred: int = 0
    out_of_order: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    worst_lag_ms: float = 0.0


async def _patient(client: httpx.AsyncClient, sender: str, tally: Tally) -> None:
    for text, answer in SCRIPT:
        for _ in range(MAX_DEFERRALS + 1):
            response = await client.post(
                "/channels/rest/webhook", json={"sender": sender, "message": text}
            )
            if response.status_code == 503 and "Retry-After" in response.headers:
                tally.deferred += 1
                await asyncio.sleep(float(response.headers["Retry-After"]))
                continue
            break
        if response.status_code != 200:
            tally.failures.append(f"{sender} {text!r}: HTTP {response.status_code}")
            return
        replies = " ".join(reply["text"] for reply in response.json())
        if not replies:
            tally.failures.append(f"{sender} {text!r}: no reply")
            return
        tally.answered += 1
        if not answer.search(replies):
            tally.out_of_order.append(f"{sender} {text!r} -> {replies[:80]!r}")


async def _watch_loop(client: httpx.AsyncClient, tally: Tally, done: asyncio.Event) -> None:
    """The hub's worst event-loop lag over the run (its window covers the pauses)."""
    while not done.is_set():
        health = (await client.get("/healthz", timeout=10)).json()
        tally.worst_lag_ms = max(tally.worst_lag_ms, health["event_loop"]["recent_max_lag_ms"])
        await asyncio.sleep(0.5)


def test_sixty_four_patients_at_once_are_all_answered_in_order_and_the_hub_stays_healthy(
    stack: StackConfig,
) -> None:
    tally = Tally()

    async def run() -> dict[str, object]:
        limits = httpx.Limits(max_connections=CONVERSATIONS + 4)
        async with httpx.AsyncClient(
            base_url=stack.backend_url, timeout=120, limits=limits, headers=REST_HEADERS
        ) as client:
            done = asyncio.Event()
            watcher = asyncio.create_task(_watch_loop(client, tally, done))
            await asyncio.gather(
                *(_patient(client, f"e2e-burst-{n}", tally) for n in range(CONVERSATIONS))
            )
            done.set()
            await watcher
            health: dict[str, object] = (await client.get("/healthz", timeout=10)).json()
            return health

    health = asyncio.run(run())

    assert tally.failures == []
    assert tally.answered == CONVERSATIONS * len(SCRIPT)  # deferred ones were sent again
    assert tally.out_of_order == []
    assert health["status"] == "ok", health
    loop = health["event_loop"]
    assert isinstance(loop, dict)
    assert loop["turns_in_flight"] == 0 and loop["turns_waiting"] == 0
    assert max(tally.worst_lag_ms, loop["recent_max_lag_ms"]) < STALL_MS, (tally, loop)
