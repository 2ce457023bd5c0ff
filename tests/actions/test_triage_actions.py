"""The triage actions, with a local double of the backend's /internal/triage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient
from bot.actions.settings import ActionSettings
from bot.actions.triage import (
    ActionAskTriageAnswer,
    ActionStartTriage,
    ActionTriageOutcome,
    ValidateTriageForm,
)
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"
QUESTION = {
    "id": "q_head_sudden",
    "text": "Did it start suddenly?",
    "answers": ["yes", "no", "not sure"],
}
DECISION = {
    "next_question": None,
    "level": "consultation",
    "emergency": False,
    "explanation": "A headache without warning signs can be seen at a routine appointment.",
    "safety_net": "Call 999 if it becomes the worst headache of your life.",
    "rule_ids": ["P-HEAD-003"],
    "record_id": 7,
}


class BackendDouble:
    """Asks one question, then decides; records what it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.down = False

    async def triage(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"detail": "boom"}, status=503)
        body = await request.json()
        self.bodies.append(body)
        if not body["answers"]:
            return web.json_response(
                {**DECISION, "next_question": QUESTION, "level": None, "record_id": None}
            )
        return web.json_response(DECISION)

    async def clinic(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"name": "Riverside", "phone": "+1 555-0100", "hours": "9-5", "emergency_number": "999"}
        )


@pytest.fixture
async def backend() -> AsyncIterator[tuple[BackendDouble, BackendClient]]:
    double = BackendDouble()
    app = web.Application()
    app.router.add_post("/internal/triage", double.triage)
    app.router.add_get("/internal/clinic", double.clinic)
    runner, url = await serve(app)
    yield double, BackendClient(ActionSettings(url, TOKEN))
    await runner.cleanup()


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_start_keeps_the_patients_words_and_clears_the_last_triage() -> None:
    tracker = make_tracker(
        text="my head is pounding", intent="describe_symptoms", slots={"triage_outcome": DECISION}
    )
    events = await ActionStartTriage().run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["triage_complaint"] == "my head is pounding"
    assert state["triage_answers"] == {} and state["triage_outcome"] is None


async def test_the_first_step_asks_the_backends_question(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(slots={"triage_complaint": "headache", "triage_answers": {}})
    events = await ValidateTriageForm(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["triage_question"] == QUESTION
    assert state["requested_slot"] == "triage_answer"
    assert double.bodies == [
        {"conversation_id": "conv-test", "complaint": "headache", "answers": {}}
    ]


async def test_a_reply_is_recorded_and_the_decision_ends_the_form(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(
        slots={
            "triage_complaint": "headache",
            "triage_answers": {},
            "triage_question": QUESTION,
            "triage_answer": "no it was gradual",
        }
    )
    events = await ValidateTriageForm(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert double.bodies[-1]["answers"] == {"q_head_sudden": "no it was gradual"}
    assert state["triage_outcome"]["level"] == "consultation"
    assert state["requested_slot"] is None


async def test_backend_down_tells_the_patient_what_to_do_and_ends_the_form(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    double.down = True
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"triage_complaint": "headache", "triage_answers": {}})
    events = await ValidateTriageForm(client).run(dispatcher, tracker, {})
    assert SlotSet("requested_slot", None) in events
    assert "emergency" in dispatcher.messages[0]["text"]


async def test_the_question_is_asked_with_answer_buttons() -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskTriageAnswer().run(
        dispatcher, make_tracker(slots={"triage_question": QUESTION}), {}
    )
    (message,) = dispatcher.messages
    assert message["text"] == QUESTION["text"]
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("Yes", "yes"),
        ("No", "no"),
        ("Not sure", "not sure"),
    ]


async def test_the_outcome_gives_the_level_the_reason_and_the_safety_net(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    _, client = backend
    dispatcher = CollectingDispatcher()
    await ActionTriageOutcome(client).run(
        dispatcher, make_tracker(slots={"triage_outcome": DECISION}), {}
    )
    text = dispatcher.messages[0]["text"]
    assert "book an appointment" in text
    assert "To book, call Riverside on +1 555-0100" in text
    assert DECISION["explanation"] in text and DECISION["safety_net"] in text


async def test_an_emergency_outcome_sends_for_help_and_never_offers_a_booking(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    _, client = backend
    dispatcher = CollectingDispatcher()
    emergency = {**DECISION, "level": "emergency_ambulance", "emergency": True}
    events = await ActionTriageOutcome(client).run(
        dispatcher, make_tracker(slots={"triage_outcome": emergency}), {}
    )
    text = dispatcher.messages[0]["text"]
    assert text.startswith("Please call 999 for an ambulance now.")
    assert "To book" not in text and "at home" not in text
    assert not dispatcher.messages[0]["buttons"]
    assert "care team" in text
    # Queued for a clinician by the backend: the assistant steps back until handed back.
    assert [e["event"] for e in events] == ["pause"]
