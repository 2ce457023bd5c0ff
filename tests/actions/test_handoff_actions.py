"""Escalation actions against a local double of POST /internal/handoffs: the right reason,
an honest "what happens next" (queue, usual wait, out of hours), and a paused conversation."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions.backend_client import BackendClient
from bot.actions.handoff import (
    ActionEscalateClinicalQuestion,
    ActionEscalateNotUnderstood,
    ActionRequestHuman,
)
from bot.actions.settings import ActionSettings
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"


class QueueDouble:
    """The backend's hand-off route: records requests, answers with a queue as configured."""

    def __init__(self, *, position: int = 1, clinic_open: bool = True) -> None:
        self.requests: list[dict[str, Any]] = []
        self.position = position
        self.clinic_open = clinic_open

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "service token required"}, status=401)
        body = await request.json()
        self.requests.append(body)
        return web.json_response(
            {
                "id": 7,
                "state": "waiting",
                "priority": "normal",
                "created": True,
                "queue_position": self.position,
                "waiting_count": self.position,
                "expected_wait_minutes": 10 * self.position,
                "clinic_open": self.clinic_open,
                "clinic_hours": "Mon-Fri 8:00-18:00",
                "clinic_phone": "+1 555-0100",
                "emergency_number": "911",
            },
            status=201,
        )


async def run_action(action_class: type, double: QueueDouble, intent: str) -> tuple[list, str]:
    app = web.Application()
    app.router.add_post("/internal/handoffs", double.handle)
    runner, url = await serve(app)
    dispatcher = CollectingDispatcher()
    try:
        action = action_class(BackendClient(ActionSettings(url, TOKEN)))
        events = await action.run(dispatcher, make_tracker(sender="conv-7", intent=intent), {})
    finally:
        await runner.cleanup()
    (message,) = dispatcher.messages
    return events, message["text"]


@pytest.mark.parametrize(
    ("action_class", "intent", "reason"),
    [
        (ActionRequestHuman, "request_human", "patient_request"),
        (ActionEscalateClinicalQuestion, "ask_clinical_question", "clinical_question"),
        (ActionEscalateNotUnderstood, "nlu_fallback", "not_understood"),
    ],
)
async def test_each_escalation_opens_a_handoff_with_its_reason_and_pauses(
    action_class: type, intent: str, reason: str
) -> None:
    double = QueueDouble()
    events, text = await run_action(action_class, double, intent)
    assert double.requests == [{"conversation_id": "conv-7", "reason": reason}]
    assert events == [ConversationPaused()]
    assert "next in the queue" in text and "10 minutes" in text


async def test_the_patient_is_told_how_many_are_ahead_and_the_usual_wait() -> None:
    _, text = await run_action(ActionRequestHuman, QueueDouble(position=4), "request_human")
    assert "3 people ahead of you" in text and "40 minutes" in text and "911" in text


async def test_a_clinical_question_is_never_answered_by_the_assistant() -> None:
    _, text = await run_action(ActionEscalateClinicalQuestion, QueueDouble(), "")
    assert text.startswith("That's a question for a clinician")


async def test_out_of_hours_the_patient_is_told_what_to_do_instead() -> None:
    events, text = await run_action(
        ActionRequestHuman, QueueDouble(clinic_open=False), "request_human"
    )
    assert events == [ConversationPaused()]
    assert "not in right now" in text and "Mon-Fri 8:00-18:00" in text
    assert "+1 555-0100" in text and "call 911" in text
    assert "minutes" not in text  # no wait time promised when nobody is in


async def test_when_the_backend_is_down_the_conversation_is_not_paused() -> None:
    app = web.Application()
    runner, url = await serve(app)
    await runner.cleanup()  # nothing listens any more
    dispatcher = CollectingDispatcher()
    action = ActionRequestHuman(BackendClient(ActionSettings(url, TOKEN, timeout_s=1)))
    events = await action.run(dispatcher, make_tracker(intent="request_human"), {})
    assert events == []
    assert "couldn't reach" in dispatcher.messages[0]["text"]
    assert "emergency" in dispatcher.messages[0]["text"]


def test_the_action_server_registers_the_three_escalations() -> None:
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert {
        "action_request_human",
        "action_escalate_clinical_question",
        "action_escalate_not_understood",
    } <= set(executor.actions)
