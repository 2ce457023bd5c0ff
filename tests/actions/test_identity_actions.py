"""The identity form and its actions, against a local double of /internal/identity/*."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.events import AllSlotsReset, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient
from bot.actions.identity import (
    CODE_SENT,
    GIVEN_TO_BACKEND,
    ActionIdentityDone,
    ActionIdentityLogout,
    AskIdentityBirthDate,
    AskIdentityChoice,
    AskIdentityFamilyName,
    ValidateIdentityForm,
    parse_birth_date,
    parse_code,
)
from bot.actions.settings import ActionSettings
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"
CLINIC_PHONE = "+1 555-0100"
DOMAIN: dict[str, Any] = {
    "forms": {
        "identity_form": {
            "required_slots": [
                "identity_family_name",
                "identity_given_name",
                "identity_birth_date",
                "identity_choice",
                "identity_code",
            ]
        }
    },
    "slots": {},
}
NO_STEP: dict[str, Any] = {
    "options": [],
    "dependants": [],
    "attempts_left": None,
    "retry_after_minutes": None,
}


class IdentityBackend:
    """Answers like /internal/identity; records every body it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.identifies_by = "phone"
        self.verified = False
        self.locked = False
        self.answers: dict[str, dict[str, Any]] = {}
        self.down = False

    async def step(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"detail": "EHR unavailable"}, status=503)
        step = request.match_info["step"]
        body = await request.json()
        self.calls.append((step, body))
        if step == "status":
            return web.json_response(
                {
                    "verified": self.verified,
                    "identifies_by": self.identifies_by,
                    "awaiting": None,
                    "locked": self.locked,
                    "dependants": [],
                }
            )
        if step == "end":
            return web.json_response({"ended": True})
        return web.json_response({**NO_STEP, **self.answers[step]})

    async def clinic(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"name": "Riverside", "phone": CLINIC_PHONE, "hours": "9-5", "emergency_number": "911"}
        )


@pytest.fixture
async def backend() -> AsyncIterator[tuple[IdentityBackend, BackendClient]]:
    double = IdentityBackend()
    app = web.Application()
    app.router.add_post("/internal/identity/{step}", double.step)
    app.router.add_get("/internal/clinic", double.clinic)
    runner, url = await serve(app)
    yield double, BackendClient(ActionSettings(url, TOKEN))
    await runner.cleanup()


def answering(slots: dict[str, Any], new: dict[str, Any], text: str = "") -> Tracker:
    """The form's tracker right after Rasa extracted `new` from the patient's message."""
    events = [{"event": "user", "text": text}] + [
        {"event": "slot", "name": name, "value": value} for name, value in new.items()
    ]
    return Tracker(
        "conv-test",
        {**slots, **new, "requested_slot": next(iter(new), None)},
        {"text": text, "intent": {"name": "", "confidence": 1.0}, "entities": []},
        events,
        False,
        None,
        {"name": "identity_form"},
        "action_listen",
    )


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or "" for m in dispatcher.messages]


def test_birth_dates_are_read_in_the_ways_people_write_them() -> None:
    from datetime import date

    today = date(2026, 11, 22)
    assert parse_birth_date("14 March 1985", today=today) == date(1985, 3, 14)
    assert parse_birth_date("03/14/1985", today=today) == date(1985, 3, 14)
    assert parse_birth_date("1985-03-14", today=today) == date(1985, 3, 14)
    assert parse_birth_date("born on march 14th, 1985", today=today) == date(1985, 3, 14)
    assert parse_birth_date("march 14", today=today) is None  # no year: ask again
    assert parse_birth_date("14 March 2030", today=today) is None
    assert parse_birth_date("banana 1985x", today=today) is None


def test_codes_are_read_however_they_are_spaced() -> None:
    assert parse_code("123 456") == "123456"
    assert parse_code("123-456") == "123456"
    assert parse_code("12345") is None
    assert parse_code("my code is 123456") is None  # only the code, so nothing else is kept


async def test_on_a_phone_channel_only_the_birth_date_then_the_code_are_asked(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    form = ValidateIdentityForm(client)
    wanted = await form.required_slots([], CollectingDispatcher(), make_tracker(), DOMAIN)
    assert wanted == ["identity_birth_date", "identity_code"]
    double.identifies_by = "name"
    wanted = await form.required_slots([], CollectingDispatcher(), make_tracker(), DOMAIN)
    assert wanted == [
        "identity_family_name",
        "identity_given_name",
        "identity_birth_date",
        "identity_code",
    ]
    double.verified = True
    assert await form.required_slots([], CollectingDispatcher(), make_tracker(), DOMAIN) == []


async def test_the_first_question_says_why() -> None:
    dispatcher = CollectingDispatcher()
    await AskIdentityBirthDate().run(dispatcher, make_tracker(), DOMAIN)
    await AskIdentityFamilyName().run(dispatcher, make_tracker(), DOMAIN)
    assert all("keeps your information private" in t for t in texts(dispatcher))
    later = CollectingDispatcher()
    await AskIdentityBirthDate().run(
        later, make_tracker(slots={"identity_family_name": "Müller"}), DOMAIN
    )
    assert "private" not in texts(later)[0]


async def test_an_unreadable_birth_date_is_asked_again_without_asking_the_backend(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    dispatcher = CollectingDispatcher()
    events = await ValidateIdentityForm(client).run(
        dispatcher, answering({}, {"identity_birth_date": "last spring"}), DOMAIN
    )
    assert slots(events)["identity_birth_date"] is None
    assert slots(events)["requested_slot"] == "identity_birth_date"
    assert [step for step, _ in double.calls] == ["status"]  # once a turn, no start
    assert "year" in texts(dispatcher)[0]


async def test_name_and_birth_date_go_to_the_backend_and_leave_the_slots(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.identifies_by = "name"
    double.answers["start"] = {"outcome": "awaiting_code"}
    dispatcher = CollectingDispatcher()
    tracker = answering(
        {"identity_family_name": "Müller", "identity_given_name": "Zoë"},
        {"identity_birth_date": "6 March 1997"},
    )
    events = await ValidateIdentityForm(client).run(dispatcher, tracker, DOMAIN)

    [start] = [body for step, body in double.calls if step == "start"]
    assert start == {
        "conversation_id": "conv-test",
        "birth_date": "1997-03-06",
        "family": "Müller",
        "given": "Zoë",
    }
    state = slots(events)
    assert state["identity_birth_date"] == GIVEN_TO_BACKEND
    assert state["identity_family_name"] == state["identity_given_name"] == GIVEN_TO_BACKEND
    assert state["requested_slot"] == "identity_code"
    assert texts(dispatcher) == [CODE_SENT]


async def test_the_answer_to_who_i_am_says_nothing_about_a_match(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    """The backend answers `awaiting_code` whether anyone matched; the words must not tell
    either (docs/identity.md, "What a stranger learns")."""
    double, client = backend
    double.answers["start"] = {"outcome": "awaiting_code"}
    dispatcher = CollectingDispatcher()
    events = await ValidateIdentityForm(client).run(
        dispatcher, answering({}, {"identity_birth_date": "1 January 1990"}), DOMAIN
    )
    [text] = texts(dispatcher)
    assert "If those details match our records, we've sent" in text
    assert "phone on file" in text
    assert slots(events)["requested_slot"] == "identity_code"


async def test_a_family_phone_offers_initials_to_choose_from(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["start"] = {"outcome": "choose", "options": ["A. O.", "B. O."]}
    events = await ValidateIdentityForm(client).run(
        CollectingDispatcher(), answering({}, {"identity_birth_date": "5 April 2001"}), DOMAIN
    )
    state = slots(events)
    assert state["identity_options"] == ["A. O.", "B. O."]
    assert state["requested_slot"] == "identity_choice"

    dispatcher = CollectingDispatcher()
    await AskIdentityChoice().run(
        dispatcher, make_tracker(slots={"identity_options": ["A. O.", "B. O."]}), DOMAIN
    )
    [message] = dispatcher.messages
    assert [b["payload"] for b in message["buttons"]] == ["1", "2"]
    assert "1. A. O." in message["text"]

    double.answers["choose"] = {"outcome": "awaiting_code"}
    events = await ValidateIdentityForm(client).run(
        CollectingDispatcher(),
        answering(
            {"identity_options": ["A. O.", "B. O."], "identity_birth_date": GIVEN_TO_BACKEND},
            {"identity_choice": "2"},
        ),
        DOMAIN,
    )
    assert ("choose", {"conversation_id": "conv-test", "option": 2}) in double.calls
    assert slots(events)["requested_slot"] == "identity_code"


async def test_a_wrong_code_says_how_many_tries_are_left_and_forgets_the_code(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["confirm"] = {"outcome": "wrong_code", "attempts_left": 2}
    dispatcher = CollectingDispatcher()
    events = await ValidateIdentityForm(client).run(
        dispatcher,
        answering({"identity_birth_date": GIVEN_TO_BACKEND}, {"identity_code": "123 456"}),
        DOMAIN,
    )
    assert ("confirm", {"conversation_id": "conv-test", "code": "123456"}) in double.calls
    state = slots(events)
    assert state["identity_code"] is None
    assert state["requested_slot"] == "identity_code"
    assert "2 more times" in texts(dispatcher)[0]


async def test_the_right_code_ends_the_form_and_forgets_the_code(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["confirm"] = {"outcome": "verified"}
    events = await ValidateIdentityForm(client).run(
        CollectingDispatcher(),
        answering({"identity_birth_date": GIVEN_TO_BACKEND}, {"identity_code": "123456"}),
        DOMAIN,
    )
    state = slots(events)
    assert state["identity_code"] is None
    assert state["identity_outcome"] == "verified"
    assert state["requested_slot"] is None
    assert "123456" not in str(state)


async def test_a_lockout_is_explained_kindly_with_the_clinics_number(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["confirm"] = {"outcome": "locked", "retry_after_minutes": 15}
    dispatcher = CollectingDispatcher()
    events = await ValidateIdentityForm(client).run(
        dispatcher,
        answering({"identity_birth_date": GIVEN_TO_BACKEND}, {"identity_code": "123456"}),
        DOMAIN,
    )
    assert slots(events)["requested_slot"] is None
    [text] = texts(dispatcher)
    assert "15 minutes" in text and CLINIC_PHONE in text


async def test_not_confirmed_gives_the_clinics_number_and_nothing_else(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["start"] = {"outcome": "not_confirmed"}
    dispatcher = CollectingDispatcher()
    events = await ValidateIdentityForm(client).run(
        dispatcher, answering({}, {"identity_birth_date": "1 January 1990"}), DOMAIN
    )
    assert slots(events)["identity_outcome"] == "not_confirmed"
    assert slots(events)["requested_slot"] is None
    [text] = texts(dispatcher)
    assert "couldn't confirm" in text and CLINIC_PHONE in text


async def test_an_expired_code_asks_again_from_the_start(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.answers["confirm"] = {"outcome": "expired"}
    events = await ValidateIdentityForm(client).run(
        CollectingDispatcher(),
        answering({"identity_birth_date": GIVEN_TO_BACKEND}, {"identity_code": "123456"}),
        DOMAIN,
    )
    state = slots(events)
    assert state["identity_birth_date"] is None
    assert state["requested_slot"] == "identity_birth_date"


async def test_after_confirmation_the_original_request_continues(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.verified = True
    tracker = make_tracker(
        slots={"identity_outcome": "verified", "pending_action": "action_check_results"}
    )
    events = await ActionIdentityDone(client).run(CollectingDispatcher(), tracker, DOMAIN)
    assert FollowupAction("action_check_results") in events
    assert SlotSet("pending_action", None) in events
    assert SlotSet("identity_outcome", None) in events


async def test_a_form_that_ended_unconfirmed_never_loops_back(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.locked = True
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"pending_action": "action_check_results"})
    events = await ActionIdentityDone(client).run(dispatcher, tracker, DOMAIN)
    assert not any(e.get("event") == "followup" for e in events)
    assert SlotSet("pending_action", None) in events
    assert CLINIC_PHONE in texts(dispatcher)[0]


async def test_log_out_ends_the_verification_and_wipes_the_slots(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    dispatcher = CollectingDispatcher()
    events = await ActionIdentityLogout(client).run(dispatcher, make_tracker(), DOMAIN)
    assert double.calls == [("end", {"conversation_id": "conv-test"})]
    assert AllSlotsReset() in events
    assert "ended" in texts(dispatcher)[0]


async def test_backend_down_is_said_plainly_and_ends_the_form(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    double, client = backend
    double.down = True
    dispatcher = CollectingDispatcher()
    form = ValidateIdentityForm(client)
    assert await form.required_slots([], dispatcher, make_tracker(), DOMAIN) == []
    events = await ActionIdentityDone(client).run(
        dispatcher, make_tracker(slots={"pending_action": "action_check_results"}), DOMAIN
    )
    assert not any(e.get("event") == "followup" for e in events)
    assert "can't check your identity" in texts(dispatcher)[0]


async def test_actions_only_ever_name_the_conversation_never_a_patient(
    backend: tuple[IdentityBackend, BackendClient],
) -> None:
    """The action path of the IDOR rule: every body is the tracker's own conversation id plus
    what the patient typed; no action can name a patient for the backend to act on."""
    double, client = backend
    double.identifies_by = "name"
    double.answers = {
        "start": {"outcome": "awaiting_code"},
        "confirm": {"outcome": "verified"},
        "choose": {"outcome": "awaiting_code"},
    }
    form = ValidateIdentityForm(client)
    await form.run(
        CollectingDispatcher(),
        answering(
            {"identity_family_name": "X", "identity_given_name": "Y"},
            {"identity_birth_date": "1 May 1990"},
        ),
        DOMAIN,
    )
    await form.run(CollectingDispatcher(), answering({}, {"identity_code": "654321"}), DOMAIN)
    await ActionIdentityLogout(client).run(CollectingDispatcher(), make_tracker(), DOMAIN)
    allowed = {"conversation_id", "birth_date", "family", "given", "option", "code"}
    for _, body in double.calls:
        assert body["conversation_id"] == "conv-test"
        assert set(body) <= allowed
