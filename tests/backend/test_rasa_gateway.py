"""HttpRasaGateway against local doubles of Rasa's hub channel and HTTP API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from backend.hub.rasa_gateway import MESSAGE_PATH, AssistantUnavailable, HttpRasaGateway
from tests.utils.local_http import serve

TOKEN = "rasa-token-0123456789"


@dataclass
class RasaDouble:
    """Records what the gateway sent; `mode` makes it misbehave."""

    mode: str = "ok"
    calls: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    active_loop: str | None = None
    # Set: webhook requests wait for it (after being recorded), as if Rasa were thinking.
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Webhook requests wait until this many are in flight at once (or 10 s have passed).
    crowd: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    everyone_here: asyncio.Event = field(default_factory=asyncio.Event)
    connections: set[int] = field(default_factory=set)  # the client ports requests came from
    authorizations: list[str | None] = field(default_factory=list)  # of the webhook requests

    @property
    def messages(self) -> int:
        return sum(1 for kind, _, _ in self.calls if kind == "webhook")

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        self.connections.add(request.transport.get_extra_info("peername")[1])
        self.authorizations.append(request.headers.get("Authorization"))
        self.calls.append(("webhook", dict(request.query), await request.json()))
        self.arrived.set()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.crowd and self.in_flight >= self.crowd:
                self.everyone_here.set()
            if self.crowd:
                await asyncio.wait_for(self.everyone_here.wait(), timeout=10)
            if self.hold is not None:
                await asyncio.wait_for(self.hold.wait(), timeout=10)
        finally:
            self.in_flight -= 1
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>")
        if self.mode == "hang up":
            request.transport.close()  # the request was received: Rasa may be working on it
            return web.Response()
        return web.json_response(
            [
                {
                    "recipient_id": "x",
                    "text": "Hello!",
                    "buttons": [{"title": "Yes", "payload": "/affirm"}],
                },
                {"recipient_id": "x", "image": "http://example.invalid/cat.png"},
            ]
        )

    async def tracker(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("tracker", dict(request.query), None))
        return web.json_response(
            {"active_loop": {"name": self.active_loop} if self.active_loop else {}}
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("events", dict(request.query), await request.json()))
        return web.json_response({"events": []})

    async def execute(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("execute", dict(request.query), await request.json()))
        return web.json_response({"tracker": {}, "messages": []})


StartRasa = Callable[[], Awaitable[tuple[RasaDouble, str]]]


@pytest.fixture
async def start_rasa() -> AsyncIterator[StartRasa]:
    """Starts Rasa doubles on free loopback ports, each with its own server."""
    async with AsyncExitStack() as stack:

        async def start() -> tuple[RasaDouble, str]:
            double = RasaDouble()
            app = web.Application()
            app.router.add_post(MESSAGE_PATH, double.webhook)
            app.router.add_get("/conversations/{cid}/tracker", double.tracker)
            app.router.add_post("/conversations/{cid}/execute", double.execute)
            app.router.add_post("/conversations/{cid}/tracker/events", double.events)
            runner, url = await serve(app)
            stack.push_async_callback(runner.cleanup)
            return double, url

        yield start


@pytest.fixture
async def rasa(start_rasa: StartRasa) -> tuple[RasaDouble, str]:
    return await start_rasa()


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_send_returns_text_replies_with_their_buttons(rasa: tuple[RasaDouble, str]) -> None:
    double, url = rasa
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    try:
        (reply,) = await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()
    assert reply.text == "Hello!"
    assert [(b["title"], b["payload"]) for b in reply.buttons] == [("Yes", "/affirm")]
    assert double.calls == [("webhook", {}, {"sender": "conv-1", "message": "hello"})]
    assert double.authorizations == [f"Bearer {TOKEN}"]  # the hub channel's secret, no query


def test_a_single_url_string_is_refused() -> None:
    """A str is a sequence of strings too; one letter per instance would never work."""
    with pytest.raises(TypeError):
        HttpRasaGateway("http://127.0.0.1:5005", TOKEN, timeout_s=5)
    with pytest.raises(ValueError):
        HttpRasaGateway([], TOKEN, timeout_s=5)


async def test_turns_reuse_one_kept_alive_connection(rasa: tuple[RasaDouble, str]) -> None:
    double, url = rasa
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    try:
        for turn in range(10):
            await gateway.send("conv-1", f"message {turn}")
    finally:
        await gateway.close()
    assert double.messages == 10
    assert len(double.connections) == 1


@pytest.mark.parametrize("mode", ["error", "garbage", "hang up"])
async def test_an_error_or_garbage_answer_is_reported_as_unavailable(
    rasa: tuple[RasaDouble, str], mode: str
) -> None:
    double, url = rasa
    double.mode = mode
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    try:
        with pytest.raises(AssistantUnavailable):
            await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()


async def test_rasa_down_is_reported_as_unavailable() -> None:
    gateway = HttpRasaGateway(["http://127.0.0.1:9"], TOKEN, timeout_s=2)
    try:
        with pytest.raises(AssistantUnavailable) as caught:
            await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()
    assert caught.value.operation == "message"


async def test_every_instance_down_is_reported_as_unavailable() -> None:
    gateway = HttpRasaGateway([closed_port_url(), closed_port_url()], TOKEN, timeout_s=2)
    try:
        with pytest.raises(AssistantUnavailable) as caught:
            await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()
    assert caught.value.reason == "ClientConnectorError"


async def test_sessions_are_read_and_started_with_the_token(rasa: tuple[RasaDouble, str]) -> None:
    double, url = rasa
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    try:
        assert await gateway.is_idle("conv-1") is True
        double.active_loop = "triage_form"
        assert await gateway.is_idle("conv-1") is False
        await gateway.start_new_session("conv-1")
    finally:
        await gateway.close()
    assert all(query["token"] == TOKEN for _, query, _ in double.calls)
    assert double.calls[-1][2] == {"name": "action_session_start"}


async def test_an_emergency_ends_the_active_form_and_adds_the_guidance(
    rasa: tuple[RasaDouble, str],
) -> None:
    double, url = rasa
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    try:
        await gateway.interrupt_for_emergency("conv-1", ["Call 911 now.", "Because..."])
    finally:
        await gateway.close()
    ((kind, query, events),) = double.calls
    assert kind == "events" and query["token"] == TOKEN
    assert events[0] == {"event": "active_loop", "name": None}
    assert [e["text"] for e in events if e["event"] == "bot"] == ["Call 911 now.", "Because..."]


# --- several instances (the scaled profile) ------------------------------------------------


async def test_turns_are_spread_over_the_instances(start_rasa: StartRasa) -> None:
    (first, first_url), (second, second_url) = await start_rasa(), await start_rasa()
    gateway = HttpRasaGateway([first_url, second_url], TOKEN, timeout_s=5)
    try:
        for turn in range(6):
            (reply,) = await gateway.send(f"conv-{turn}", "hello")
            assert reply.text == "Hello!"
        await gateway.pause("conv-1")
        await gateway.resume("conv-1", [])
    finally:
        await gateway.close()
    # One after the other, both are idle at every turn: round-robin.
    assert (first.messages, second.messages) == (3, 3)
    assert [kind for kind, _, _ in first.calls + second.calls].count("events") == 2
    assert len(first.calls) == len(second.calls) == 4


async def test_a_turn_goes_to_the_instance_with_fewer_requests_in_flight(
    start_rasa: StartRasa,
) -> None:
    (busy, busy_url), (free, free_url) = await start_rasa(), await start_rasa()
    busy.hold = asyncio.Event()
    gateway = HttpRasaGateway([busy_url, free_url], TOKEN, timeout_s=5)
    try:
        slow_turn = asyncio.create_task(gateway.send("conv-slow", "hello"))
        await asyncio.wait_for(busy.arrived.wait(), timeout=5)
        for turn in range(3):
            await gateway.send(f"conv-{turn}", "hello")
        busy.hold.set()
        (reply,) = await slow_turn
    finally:
        await gateway.close()
    assert reply.text == "Hello!"
    assert (busy.messages, free.messages) == (1, 3)


async def test_an_instance_that_is_down_is_skipped(start_rasa: StartRasa) -> None:
    up, up_url = await start_rasa()
    gateway = HttpRasaGateway([closed_port_url(), up_url], TOKEN, timeout_s=5)
    try:
        for turn in range(4):
            (reply,) = await gateway.send(f"conv-{turn}", "hello")
            assert reply.text == "Hello!"
        assert await gateway.is_idle("conv-1") is True
        await gateway.start_new_session("conv-1")
        await gateway.pause("conv-1")
    finally:
        await gateway.close()
    assert up.messages == 4
    assert [kind for kind, _, _ in up.calls[4:]] == ["tracker", "execute", "events"]


@pytest.mark.parametrize("mode", ["error", "hang up", "too slow"])
async def test_a_failure_after_the_request_was_sent_is_not_retried_elsewhere(
    start_rasa: StartRasa, mode: str
) -> None:
    """Rasa may have processed the message: sending it again would make it two turns."""
    (failing, failing_url), (healthy, healthy_url) = await start_rasa(), await start_rasa()
    if mode == "too slow":
        failing.hold = asyncio.Event()
    else:
        failing.mode = mode
    gateway = HttpRasaGateway([failing_url, healthy_url], TOKEN, timeout_s=0.5)
    try:
        with pytest.raises(AssistantUnavailable) as caught:
            await gateway.send("conv-1", "hello")  # both idle: the first instance is tried first
    finally:
        await gateway.close()
        if failing.hold is not None:
            failing.hold.set()
    assert caught.value.operation == "message"
    assert (failing.messages, healthy.messages) == (1, 0)


async def test_many_concurrent_turns_are_not_queued_behind_a_connection_cap(
    rasa: tuple[RasaDouble, str],
) -> None:
    """200 conversations waiting on Rasa at once each get a connection, then keep it."""
    double, url = rasa
    double.crowd = 200  # every request waits until all 200 are in the server at once
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=20)
    try:
        for _ in range(2):
            replies = await asyncio.gather(
                *(gateway.send(f"conv-{n}", "hello") for n in range(200))
            )
            assert all(reply.text == "Hello!" for (reply,) in replies)
    finally:
        await gateway.close()
    assert double.messages == 400
    assert double.most_in_flight == 200
    assert len(double.connections) == 200  # the second wave reused the first wave's


async def test_an_instance_that_just_answered_a_turn_counts_as_up_for_health(
    rasa: tuple[RasaDouble, str],
) -> None:
    """Under load Rasa's health page can be slower than the health check; its answers are
    the better sign of life."""
    _double, url = rasa
    gateway = HttpRasaGateway([url, closed_port_url()], "secret-token", timeout_s=5)
    try:
        assert not gateway.answered_within(url, 10)
        await gateway.send("c-1", "hello")
        assert gateway.answered_within(url, 10)
        assert not gateway.answered_within(closed_port_url(), 10)
    finally:
        await gateway.close()
