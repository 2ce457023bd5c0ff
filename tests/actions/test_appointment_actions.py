"""The appointment actions, with a local double of the backend's /internal/appointments/*."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import appointments_text as say
from bot.actions.appointments import (
    IDENTITY_DONE,
    OFFERED,
    ActionAskApptChoice,
    ActionFinishAppointment,
    ActionListAppointments,
    ActionStartAppointment,
    ValidateAppointmentForm,
)
from bot.actions.backend_client import BackendClient
from bot.actions.settings import ActionSettings
from bot.actions.triage import ActionTriageOutcome
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"
FAMILY = {"specialty": "419772000", "practitioner_id": None, "location_id": None}


def slot(n: int) -> dict[str, Any]:
    return {
        "id": f"slot-{n}",
        "start": f"2026-11-24T1{n}:00:00-05:00",
        "label": f"Tue Nov 24, {n} pm with Dr. Amara Okafor at Harborview",
        "practitioner_name": "Dr. Amara Okafor",
        "specialty": "Family medicine",
        "clinic_name": "Harborview",
        "clinic_address": "120 Wharf Street, New York, NY, 10280",
    }


OFFERS = [slot(1), slot(2), slot(3)]
APPOINTMENT = {
    "id": "appt-1",
    "status": "booked",
    "practitioner_id": "prac-01",
    "start": "2026-11-24T11:00:00-05:00",
    "label": "Tue Nov 24, 1 pm with Dr. Amara Okafor at Harborview",
    "practitioner_name": "Dr. Amara Okafor",
    "clinic_name": "Harborview",
    "clinic_address": "120 Wharf Street, New York, NY, 10280",
}


class BackendDouble:
    """Answers each operation from `answers` (or a 403 with `refuse`); records the bodies."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = {}
        self.refuse: str | None = None
        self.answers: dict[str, dict[str, Any]] = {
            "search": {
                "criteria": {**FAMILY, "when_text": "tomorrow"},
                "need": None,
                "question": None,
                "alternative": "match",
                "note": "",
                "slots": OFFERS,
            },
            "book": {
                "outcome": "booked",
                "appointment": APPOINTMENT,
                "what_to_bring": "Bring a photo ID.",
                "how_to_cancel": 'To cancel or change it, tell me "cancel my appointment".',
                "offers": None,
            },
            "list": {"appointments": [APPOINTMENT], "how_to_cancel": "Call +1 555-0100."},
            "cancel": {
                "appointment": {**APPOINTMENT, "status": "cancelled"},
                "late": True,
                "notice_hours": 24,
                "clinic_phone": "+1 555-0100",
            },
            "request": {"request_id": "task-1", "message": "I've asked the clinic."},
        }

    async def handle(self, request: web.Request) -> web.Response:
        operation = request.match_info["operation"]
        self.bodies.setdefault(operation, []).append(await request.json())
        if self.refuse:
            return web.json_response({"detail": self.refuse}, status=403)
        return web.json_response(self.answers[operation])

    async def clinic(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"name": "Riverside", "phone": "+1 555-0100", "hours": "9-5", "emergency_number": "999"}
        )


@pytest.fixture
async def backend() -> AsyncIterator[tuple[BackendDouble, BackendClient]]:
    double = BackendDouble()
    app = web.Application()
    app.router.add_post("/internal/appointments/{operation}", double.handle)
    app.router.add_get("/internal/clinic", double.clinic)
    runner, url = await serve(app)
    yield double, BackendClient(ActionSettings(url, TOKEN))
    await runner.cleanup()


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


def in_form(**values: Any) -> dict[str, Any]:
    """Slots of a booking in progress with three offers on the table."""
    return {
        "appt_mode": "book",
        "appt_criteria": {**FAMILY, "when_text": "tomorrow"},
        "appt_offers": OFFERS,
        **values,
    }


# -- start -----------------------------------------------------------------------------------


async def test_first_words_enough_to_search_go_straight_to_the_offers(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(text="cn i get appt tmrw", intent="book_appointment")
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["appt_mode"] == "book" and state["appt_request"] == OFFERED
    assert state["appt_offers"] == OFFERS
    assert double.bodies["search"][0]["text"] == "cn i get appt tmrw"
    assert followups(events) == []  # the rule runs the form next


async def test_an_unverified_patient_is_verified_first_and_the_request_kept(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    double.refuse = "not_verified"
    tracker = make_tracker(text="book my son for a checkup", intent="book_appointment")
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["pending_action"] == "action_start_appointment"
    assert state["appt_pending_text"] == "book my son for a checkup"
    assert followups(events) == ["identity_form"]


async def test_after_verification_the_kept_request_resumes_into_the_form(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(
        text="1990-04-02",
        intent="inform",
        slots={"appt_mode": "book", "appt_pending_text": "book my son for a checkup"},
    )
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    body = double.bodies["search"][0]
    assert body["text"] == "book my son for a checkup" and body["for_child"] is True
    assert followups(events) == ["appointment_form"]


async def test_resuming_after_verification_ignores_what_the_code_looked_like(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    """The code is the latest message when identity_done runs us: NLU may call it anything."""
    double, client = backend
    slots_kept = {"appt_mode": "book", "appt_pending_text": "a checkup as soon as possible"}
    latest = {"text": "874728", "intent": {"name": "book_appointment"}, "entities": []}
    tracker = Tracker("conv-test", slots_kept, latest, [], False, None, {}, IDENTITY_DONE)
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    assert double.bodies["search"][0]["text"] == "a checkup as soon as possible"
    assert followups(events) == ["appointment_form"]


async def test_slots_the_start_cleared_are_not_read_as_replies_when_the_form_starts(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    form = ValidateAppointmentForm(client)
    tracker = make_tracker(
        text="I need to reschedule my appointment",
        intent="reschedule_appointment",
        slots={"appt_mode": "reschedule", "appt_appointments": [{"id": "a1", "label": "x"}]},
    )
    dispatcher = CollectingDispatcher()
    for validate in (
        form.validate_appt_request,
        form.validate_appt_choice,
        form.validate_appt_target,
        form.validate_appt_confirm,
    ):
        assert await validate(None, dispatcher, tracker, {}) == {}
    assert dispatcher.messages == []
    assert "search" not in double.bodies


async def test_booking_after_triage_carries_the_complaint_as_the_reason(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(
        text="/book_appointment",
        intent="book_appointment",
        slots={
            "triage_outcome": {"level": "consultation"},
            "triage_complaint": "sore throat for three days",
        },
    )
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    assert double.bodies["search"][0]["text"] == "family doctor as soon as possible"
    assert slots(events)["appt_reason"] == "sore throat for three days"


async def test_cancelling_the_only_appointment_needs_no_choice(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    _, client = backend
    tracker = make_tracker(text="cancel my appointment", intent="cancel_appointment")
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["appt_mode"] == "cancel" and state["appt_target"] == "appt-1"


async def test_nothing_to_cancel_is_said_without_opening_the_form(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    double.answers["list"] = {"appointments": [], "how_to_cancel": ""}
    tracker = make_tracker(text="cancel my appointment", intent="cancel_appointment")
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    assert slots(events)["appt_mode"] == "stopped"
    assert followups(events) == ["action_finish_appointment"]


# -- the form's questions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "required"),
    [
        ("book", ["appt_request", "appt_choice", "appt_confirm"]),
        ("reschedule", ["appt_target", "appt_request", "appt_choice", "appt_confirm"]),
        ("cancel", ["appt_target", "appt_confirm"]),
        ("stopped", []),
        ("person", []),
    ],
)
async def test_the_mode_decides_what_is_asked(mode: str, required: list[str]) -> None:
    tracker = make_tracker(slots={"appt_mode": mode})
    form = ValidateAppointmentForm()
    assert await form.required_slots([], CollectingDispatcher(), tracker, {}) == required


async def test_a_number_picks_the_offered_slot() -> None:
    tracker = make_tracker(text="2", slots=in_form())
    form = ValidateAppointmentForm()
    picked = await form.validate_appt_choice("2", CollectingDispatcher(), tracker, {})
    assert picked == {"appt_choice": "slot-2"}


async def test_whats_the_address_answers_and_asks_again() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="what's the address?", slots=in_form())
    answer = await ValidateAppointmentForm().validate_appt_choice(
        "what's the address?", dispatcher, tracker, {}
    )
    assert answer == {"appt_choice": None}
    assert "120 Wharf Street" in dispatcher.messages[0]["text"]


async def test_who_is_that_doctor_answers_and_asks_again() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="who is that doctor?", slots=in_form())
    answer = await ValidateAppointmentForm().validate_appt_choice(
        "who is that doctor?", dispatcher, tracker, {}
    )
    assert answer == {"appt_choice": None}
    assert "Dr. Amara Okafor is a family medicine clinician" in dispatcher.messages[0]["text"]


async def test_actually_friday_searches_again_with_the_correction(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    friday = [slot(4)]
    double.answers["search"] = {
        **double.answers["search"],
        "criteria": {**FAMILY, "when_text": "actually Friday"},
        "slots": friday,
    }
    tracker = make_tracker(text="actually Friday", slots=in_form())
    answer = await ValidateAppointmentForm(client).validate_appt_choice(
        "actually Friday", CollectingDispatcher(), tracker, {}
    )
    assert answer["appt_offers"] == friday and answer["appt_choice"] is None
    assert double.bodies["search"][0]["criteria"]["when_text"] == "tomorrow"


@pytest.mark.parametrize("reply", ["never mind", "nvm", "forget it"])
async def test_never_mind_ends_the_flow_with_nothing_changed(reply: str) -> None:
    tracker = make_tracker(text=reply, slots=in_form())
    answer = await ValidateAppointmentForm().validate_appt_choice(
        reply, CollectingDispatcher(), tracker, {}
    )
    assert answer["appt_mode"] == "stopped"
    assert "nothing has been booked" in answer["appt_result"]


async def test_start_over_forgets_what_was_gathered() -> None:
    tracker = make_tracker(text="start over", slots=in_form(appt_request=OFFERED))
    answer = await ValidateAppointmentForm().validate_appt_choice(
        "start over", CollectingDispatcher(), tracker, {}
    )
    assert answer["appt_request"] is None and answer["appt_offers"] is None
    assert answer["appt_criteria"] == {}


async def test_yes_books_and_the_confirmation_says_where_and_how_to_cancel(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    tracker = make_tracker(
        text="yes", intent="affirm", slots=in_form(appt_choice="slot-2", appt_reason="checkup")
    )
    answer = await ValidateAppointmentForm(client).validate_appt_confirm(
        "yes", CollectingDispatcher(), tracker, {}
    )
    assert double.bodies["book"][0]["slot_id"] == "slot-2"
    assert double.bodies["book"][0]["reason"] == "checkup"
    assert answer["appt_confirm"] == "yes"
    assert "120 Wharf Street" in answer["appt_result"]
    assert "Bring a photo ID." in answer["appt_result"]
    assert "cancel my appointment" in answer["appt_result"]


async def test_a_slot_taken_at_confirmation_is_said_and_new_times_offered(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    later = [slot(5), slot(6), slot(7)]
    double.answers["book"] = {
        "outcome": "slot_taken",
        "appointment": None,
        "what_to_bring": "",
        "how_to_cancel": "",
        "offers": {**double.answers["search"], "slots": later},
    }
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="yes", intent="affirm", slots=in_form(appt_choice="slot-1"))
    answer = await ValidateAppointmentForm(client).validate_appt_confirm(
        "yes", dispatcher, tracker, {}
    )
    assert "just taken" in dispatcher.messages[0]["text"]
    assert answer["appt_offers"] == later
    assert answer["appt_choice"] is None and answer["appt_confirm"] is None


async def test_a_late_cancellation_is_flagged(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    _, client = backend
    tracker = make_tracker(
        text="yes",
        intent="affirm",
        slots={"appt_mode": "cancel", "appt_target": "appt-1", "appt_appointments": [APPOINTMENT]},
    )
    answer = await ValidateAppointmentForm(client).validate_appt_confirm(
        "yes", CollectingDispatcher(), tracker, {}
    )
    assert "is cancelled" in answer["appt_result"]
    assert "less than 24 hours" in answer["appt_result"]


async def test_no_to_a_cancellation_keeps_the_appointment() -> None:
    tracker = make_tracker(text="no", intent="deny", slots={"appt_mode": "cancel"})
    answer = await ValidateAppointmentForm().validate_appt_confirm(
        "no", CollectingDispatcher(), tracker, {}
    )
    assert answer["appt_mode"] == "stopped" and "kept" in answer["appt_result"]


async def test_nothing_free_offers_a_request_to_the_clinic_or_a_person(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=in_form(appt_offers=[], appt_note="Nothing is free."))
    await ActionAskApptChoice().run(dispatcher, tracker, {})
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == ["request", "person", "another day"]
    answer = await ValidateAppointmentForm(client).validate_appt_choice(
        "request", CollectingDispatcher(), tracker, {}
    )
    assert answer["appt_result"] == "I've asked the clinic."
    assert double.bodies["request"][0]["criteria"]["specialty"] == FAMILY["specialty"]


async def test_offers_are_buttons_with_the_slot_id_as_payload() -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskApptChoice().run(dispatcher, make_tracker(slots=in_form()), {})
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["slot-1", "slot-2", "slot-3"]


# -- the end, and listing --------------------------------------------------------------------


async def test_asking_for_a_person_mid_flow_hands_over() -> None:
    tracker = make_tracker(slots={"appt_mode": "person"})
    events = await ActionFinishAppointment().run(CollectingDispatcher(), tracker, {})
    assert followups(events) == ["action_request_human"]
    assert slots(events)["appt_mode"] is None


async def test_the_list_says_how_to_cancel(backend: tuple[BackendDouble, BackendClient]) -> None:
    _, client = backend
    dispatcher = CollectingDispatcher()
    await ActionListAppointments(client).run(
        dispatcher, make_tracker(text="when is my appointment"), {}
    )
    text = dispatcher.messages[0]["text"]
    assert APPOINTMENT["label"] in text and "Call +1 555-0100." in text


# -- triage leads into booking ----------------------------------------------------------------


@pytest.mark.parametrize("level", ["consultation", "consultation_24"])
async def test_a_consultation_outcome_offers_booking_buttons(
    backend: tuple[BackendDouble, BackendClient], level: str
) -> None:
    _, client = backend
    dispatcher = CollectingDispatcher()
    outcome = {"level": level, "explanation": "x", "safety_net": "y"}
    await ActionTriageOutcome(client).run(
        dispatcher, make_tracker(slots={"triage_outcome": outcome}), {}
    )
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/book_appointment"


@pytest.mark.parametrize("level", ["emergency_ambulance", "emergency", "self_care"])
async def test_other_outcomes_never_offer_booking(
    backend: tuple[BackendDouble, BackendClient], level: str
) -> None:
    _, client = backend
    dispatcher = CollectingDispatcher()
    outcome = {"level": level, "explanation": "x", "safety_net": "y"}
    await ActionTriageOutcome(client).run(
        dispatcher, make_tracker(slots={"triage_outcome": outcome}), {}
    )
    assert dispatcher.messages[0]["buttons"] == []


# -- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("never mind", "stop"),
        ("start over", "restart"),
        ("what's the address?", "address"),
        ("where is it", "address"),
        ("who is that doctor?", "who"),
        ("can i talk to a person", "person"),
        ("actually friday", None),
        ("2", None),
    ],
)
def test_digressions_are_recognised(text: str, kind: str | None) -> None:
    assert say.digression(text) == kind


def test_pick_by_label_or_out_of_range_number() -> None:
    assert say.pick(OFFERS[0]["label"].upper(), OFFERS) == OFFERS[0]
    assert say.pick("9", OFFERS) is None
    assert say.pick("slot-3", OFFERS) == OFFERS[2]


async def test_r_after_a_reminder_moves_the_appointment_it_was_about(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    other = {**APPOINTMENT, "id": "appt-2", "label": "Fri Nov 27, 9 am with Dr. Lee"}
    double.answers["list"] = {"appointments": [other, APPOINTMENT], "how_to_cancel": ""}
    tracker = make_tracker(
        text="R", intent="reschedule_appointment", slots={"outreach_appointment_id": "appt-1"}
    )
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["appt_mode"] == "reschedule" and state["appt_target"] == "appt-1"
    assert "When would you like to move it to?" in state["appt_question"]
    assert state["outreach_appointment_id"] is None  # used once


async def test_x_after_a_reminder_for_a_gone_appointment_asks_which_one(
    backend: tuple[BackendDouble, BackendClient],
) -> None:
    double, client = backend
    other = {**APPOINTMENT, "id": "appt-2", "label": "Fri Nov 27, 9 am with Dr. Lee"}
    double.answers["list"] = {"appointments": [other, APPOINTMENT], "how_to_cancel": ""}
    tracker = make_tracker(
        text="X", intent="cancel_appointment", slots={"outreach_appointment_id": "appt-9"}
    )
    events = await ActionStartAppointment(client).run(CollectingDispatcher(), tracker, {})
    state = slots(events)
    assert state["appt_mode"] == "cancel" and state.get("appt_target") is None
