"""HttpRasaGateway against a local double of Rasa's REST channel and HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from backend.hub.rasa_gateway import AssistantUnavailable, HttpRasaGateway
from tests.utils.local_http import serve

TOKEN = "rasa-token-0123456789"


@dataclass
class RasaDouble:
    """Records what the gateway sent; `mode` makes it misbehave."""

    mode: str = "ok"
    calls: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    active_loop: str | None = None
    sent: asyncio.Event | None = None  # the caller's "request has left" signal, if any
    sent_when_received: list[bool] = field(default_factory=list)

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        if self.sent is not None:
            self.sent_when_received.append(self.sent.is_set())
        self.calls.append(("webhook", dict(request.query), await request.json()))
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>")
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


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[RasaDouble, str]]:
    double = RasaDouble()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", double.webhook)
    app.router.add_get("/conversations/{cid}/tracker", double.tracker)
    app.router.add_post("/conversations/{cid}/execute", double.execute)
    app.router.add_post("/conversations/{cid}/tracker/events", double.events)
    runner, url = await serve(app)
    yield double, url
    await runner.cleanup()


async def test_send_returns_text_replies_with_their_buttons(rasa: tuple[RasaDouble, str]) -> None:
    double, url = rasa
    gateway = HttpRasaGateway(url, TOKEN, timeout_s=5)
    try:
        (reply,) = await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()
    assert reply.text == "Hello!"
    assert [(b["title"], b["payload"]) for b in reply.buttons] == [("Yes", "/affirm")]
    assert double.calls == [("webhook", {}, {"sender": "conv-1", "message": "hello"})]


async def test_send_signals_when_the_request_has_left(rasa: tuple[RasaDouble, str]) -> None:
    """The hub stores the message once Rasa has it, not before asking (hub/pipeline.py)."""
    double, url = rasa
    double.sent = asyncio.Event()
    gateway = HttpRasaGateway(url, TOKEN, timeout_s=5)
    try:
        (reply,) = await gateway.send("conv-1", "hello", sent=double.sent)
    finally:
        await gateway.close()
    assert reply.text == "Hello!"
    assert double.sent_when_received == [True]


@pytest.mark.parametrize("mode", ["error", "garbage"])
async def test_an_error_or_garbage_answer_is_reported_as_unavailable(
    rasa: tuple[RasaDouble, str], mode: str
) -> None:
    double, url = rasa
    double.mode = mode
    gateway = HttpRasaGateway(url, TOKEN, timeout_s=5)
    try:
        with pytest.raises(AssistantUnavailable):
            await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()


async def test_rasa_down_is_reported_as_unavailable() -> None:
    gateway = HttpRasaGateway("http://127.0.0.1:9", TOKEN, timeout_s=2)
    try:
        with pytest.raises(AssistantUnavailable) as caught:
            await gateway.send("conv-1", "hello")
    finally:
        await gateway.close()
    assert caught.value.operation == "message"


async def test_sessions_are_read_and_started_with_the_token(rasa: tuple[RasaDouble, str]) -> None:
    double, url = rasa
    gateway = HttpRasaGateway(url, TOKEN, timeout_s=5)
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
    gateway = HttpRasaGateway(url, TOKEN, timeout_s=5)
    try:
        await gateway.interrupt_for_emergency("conv-1", ["Call 911 now.", "Because..."])
    finally:
        await gateway.close()
    ((kind, query, events),) = double.calls
    assert kind == "events" and query["token"] == TOKEN
    assert events[0] == {"event": "active_loop", "name": None}
    assert [e["text"] for e in events if e["event"] == "bot"] == ["Call 911 now.", "Because..."]
