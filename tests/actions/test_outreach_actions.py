"""Outreach actions: the words of each scheduled message and the C reply that confirms an
appointment, with a local double of /internal/outreach/confirm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient
from bot.actions.outreach import (
    APPOINTMENT_SLOT,
    CHECKIN,
    CONFIRMED,
    NO_APPOINTMENT,
    NOT_CONFIRMABLE,
    REFILL_NUDGE,
    RESULTS_READY,
    UNAVAILABLE,
    ActionConfirmAppointment,
    ActionOutreachAppointmentReminder,
    ActionOutreachRefillNudge,
    ActionOutreachResultsReady,
    ActionOutreachVisitCheckin,
    reminder_text,
)
from bot.actions.settings import ActionSettings
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"


def external(intent: str, **entities: str) -> Tracker:
    """The tracker right after the scheduler triggered `intent` with these entities."""
    tracker = make_tracker(intent=intent)
    tracker.latest_message["entities"] = [
        {"entity": name, "value": value} for name, value in entities.items()
    ]
    return tracker


class OutreachDouble:
    """Answers /internal/outreach/confirm like the backend; `answer` picks the outcome."""

    def __init__(self) -> None:
        self.answer = "ok"
        self.bodies: list[dict[str, Any]] = []

    async def confirm(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "service token required"}, status=401)
        self.bodies.append(await request.json())
        statuses = {"ok": 200, "not_verified": 403, "not_found": 404, "down": 503}
        detail = {"confirmed": True} if self.answer == "ok" else {"detail": self.answer}
        return web.json_response(detail, status=statuses[self.answer])


@pytest.fixture
async def backend() -> AsyncIterator[tuple[OutreachDouble, BackendClient]]:
    double = OutreachDouble()
    app = web.Application()
    app.router.add_post("/internal/outreach/confirm", double.confirm)
    runner, url = await serve(app)
    yield double, BackendClient(ActionSettings(url, TOKEN))
    await runner.cleanup()


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["text"] for message in dispatcher.messages]


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_the_reminder_never_asks_for_a_carrier_keyword() -> None:
    text = reminder_text(when="Wednesday 10 June at 10:00", clinician="Dr A", clinic="Main")
    assert "Reply C to confirm, R to reschedule, or X to cancel" in text
    for keyword in ("CANCEL", "STOP", "END", "QUIT"):
        assert keyword not in text.split()


async def test_the_reminder_says_when_and_remembers_the_appointment(
    dispatcher: CollectingDispatcher,
) -> None:
    tracker = external(
        "EXTERNAL_appointment_reminder",
        appointment_id="appt-1",
        appointment_time="Wednesday 10 June at 10:00",
        clinician_name="Dr Ana Rivera",
        clinic_name="Riverside Main",
    )

    events = await ActionOutreachAppointmentReminder().run(dispatcher, tracker, {})

    assert texts(dispatcher) == [
        "Reminder: you have an appointment with Dr Ana Rivera at Riverside Main on Wednesday "
        "10 June at 10:00. Reply C to confirm, R to reschedule, or X to cancel it."
    ]
    assert slots(events) == {APPOINTMENT_SLOT: "appt-1"}


async def test_check_in_refill_and_results_messages(dispatcher: CollectingDispatcher) -> None:
    await ActionOutreachVisitCheckin().run(dispatcher, external("EXTERNAL_visit_checkin"), {})
    await ActionOutreachRefillNudge().run(
        dispatcher, external("EXTERNAL_refill_nudge", medication_request_id="med-1"), {}
    )
    await ActionOutreachResultsReady().run(dispatcher, external("EXTERNAL_results_ready"), {})

    check_in, refill, results = texts(dispatcher)
    assert check_in == CHECKIN
    assert refill == REFILL_NUDGE
    assert results == RESULTS_READY


async def test_c_confirms_the_reminded_appointment(
    dispatcher: CollectingDispatcher, backend: tuple[OutreachDouble, BackendClient]
) -> None:
    double, client = backend
    tracker = make_tracker(
        sender="conv-9", text="C", intent="confirm_appointment", slots={APPOINTMENT_SLOT: "a-1"}
    )

    events = await ActionConfirmAppointment(client).run(dispatcher, tracker, {})

    assert double.bodies == [{"conversation_id": "conv-9", "appointment_id": "a-1"}]
    assert texts(dispatcher) == [CONFIRMED]
    assert slots(events) == {APPOINTMENT_SLOT: None}


async def test_c_without_a_reminder_asks_which_appointment(
    dispatcher: CollectingDispatcher, backend: tuple[OutreachDouble, BackendClient]
) -> None:
    double, client = backend
    tracker = make_tracker(text="C", intent="confirm_appointment")

    await ActionConfirmAppointment(client).run(dispatcher, tracker, {})

    assert double.bodies == [] and texts(dispatcher) == [NO_APPOINTMENT]


async def test_an_unverified_patient_is_verified_first_then_the_confirmation_resumes(
    dispatcher: CollectingDispatcher, backend: tuple[OutreachDouble, BackendClient]
) -> None:
    double, client = backend
    double.answer = "not_verified"
    tracker = make_tracker(text="C", intent="confirm_appointment", slots={APPOINTMENT_SLOT: "a"})

    events = await ActionConfirmAppointment(client).run(dispatcher, tracker, {})

    assert slots(events) == {"pending_action": "action_confirm_appointment"}
    assert [e["name"] for e in events if e.get("event") == "followup"] == ["identity_form"]


@pytest.mark.parametrize(
    ("answer", "said"), [("not_found", NOT_CONFIRMABLE), ("down", UNAVAILABLE)]
)
async def test_a_moved_appointment_or_a_failure_is_explained(
    answer: str,
    said: str,
    dispatcher: CollectingDispatcher,
    backend: tuple[OutreachDouble, BackendClient],
) -> None:
    double, client = backend
    double.answer = answer
    tracker = make_tracker(text="C", intent="confirm_appointment", slots={APPOINTMENT_SLOT: "a"})

    await ActionConfirmAppointment(client).run(dispatcher, tracker, {})

    assert texts(dispatcher) == [said]
