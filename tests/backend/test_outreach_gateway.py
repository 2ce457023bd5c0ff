"""`HttpRasaGateway.trigger_intent` against a local double of Rasa's HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from backend.hub.rasa_gateway import AssistantUnavailable, HttpRasaGateway
from channels.base import Button, Reply
from tests.utils.local_http import serve

TOKEN = "rasa-token-0123456789"


class TriggerDouble:
    def __init__(self) -> None:
        self.answer: Any = {
            "tracker": {},
            "messages": [
                {
                    "recipient_id": "conv-1",
                    "text": "Reminder: ... Reply C to confirm.",
                    "buttons": [{"title": "Confirm", "payload": "/confirm_appointment"}],
                }
            ],
        }
        self.calls: list[tuple[str, dict[str, str], Any]] = []

    async def trigger(self, request: web.Request) -> web.StreamResponse:
        self.calls.append((request.match_info["cid"], dict(request.query), await request.json()))
        if self.answer == "error":
            return web.Response(status=404, text="no such intent")
        return web.json_response(self.answer)


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[TriggerDouble, HttpRasaGateway]]:
    double = TriggerDouble()
    app = web.Application()
    app.router.add_post("/conversations/{cid}/trigger_intent", double.trigger)
    runner, url = await serve(app)
    gateway = HttpRasaGateway([url], TOKEN, timeout_s=5)
    yield double, gateway
    await gateway.close()
    await runner.cleanup()


async def test_the_intent_and_entities_go_to_the_conversation_and_the_words_come_back(
    rasa: tuple[TriggerDouble, HttpRasaGateway],
) -> None:
    double, gateway = rasa

    replies = await gateway.trigger_intent(
        "conv-1", "EXTERNAL_appointment_reminder", {"appointment_id": "appt-1"}
    )

    assert replies == [
        Reply(
            text="Reminder: ... Reply C to confirm.",
            buttons=[Button(title="Confirm", payload="/confirm_appointment")],
        )
    ]
    assert double.calls == [
        (
            "conv-1",
            {"token": TOKEN, "include_events": "NONE"},
            {"name": "EXTERNAL_appointment_reminder", "entities": {"appointment_id": "appt-1"}},
        )
    ]


@pytest.mark.parametrize("answer", ["error", {"tracker": {}}, ["not", "an", "object"]])
async def test_an_error_or_an_answer_without_messages_is_assistant_unavailable(
    rasa: tuple[TriggerDouble, HttpRasaGateway], answer: Any
) -> None:
    double, gateway = rasa
    double.answer = answer

    with pytest.raises(AssistantUnavailable):
        await gateway.trigger_intent("conv-1", "EXTERNAL_visit_checkin", {})
