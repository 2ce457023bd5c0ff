"""Results, medications and refill actions, with a local double of /internal/records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient, MedicationOption, PatientAccessDenied
from bot.actions.medications import (
    ActionAskRefillConfirmed,
    ActionAskRefillMedication,
    ActionListMedications,
    ActionRefillStatus,
    ActionStartRefill,
    ActionSubmitRefill,
    ValidateRefillForm,
    match_medication,
)
from bot.actions.results import NOT_IN_CARE, ActionCheckResults, refused
from bot.actions.settings import ActionSettings
from tests.actions.conftest import make_tracker
from tests.utils.local_http import serve

TOKEN = "test-service-token-0123456789"
LISINOPRIL: MedicationOption = {
    "id": "med-1",
    "name": "Lisinopril 10 MG Oral Tablet",
    "dosage": "Take 1 tablet daily",
    "refills_remaining": 2,
    "prescriber": "Dr Ana Rivera",
    "needs_review": False,
    "review_reason": None,
}
METFORMIN: MedicationOption = {
    **LISINOPRIL,
    "id": "med-2",
    "name": "Metformin 500 MG Oral Tablet",
    "refills_remaining": 0,
    "needs_review": True,
    "review_reason": "there are no refills left on it",
}


class RecordsDouble:
    """Answers like the backend; `verified` and `down` switch the refusals and failures."""

    def __init__(self) -> None:
        self.verified = True
        self.down = False
        self.active: list[MedicationOption] = [LISINOPRIL, METFORMIN]
        self.refill_bodies: list[dict[str, Any]] = []
        self.queries: list[str] = []

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.queries.append(request.query.get("conversation_id", ""))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "service token required"}, status=401)
        if self.down:
            return web.json_response({"detail": "ehr_unavailable"}, status=503)
        if not self.verified:
            return web.json_response({"detail": "not_verified"}, status=403)
        return None

    async def results(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response(
            {
                "messages": ["Here are your latest results.", "Lipid panel: ..."],
                "details_shown": True,
                "available": 1,
                "critical_withheld": 0,
                "reports": [],
            }
        )

    async def medications(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response(
            {
                "text": "Your 2 active prescriptions: ...",
                "data": self.active,
                "pharmacies": ["CVS Main St"],
            }
        )

    async def refill(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        self.refill_bodies.append(await request.json())
        return web.json_response(
            {
                "task_id": "t1",
                "status": "requested",
                "created": True,
                "needs_review": False,
                "text": "Done: I've sent a refill request.",
            },
            status=201,
        )

    async def refills(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response({"text": "Your refill requests: ...", "data": []})


@pytest.fixture
async def backend() -> AsyncIterator[tuple[RecordsDouble, BackendClient]]:
    double = RecordsDouble()
    app = web.Application()
    app.router.add_get("/internal/records/results", double.results)
    app.router.add_get("/internal/records/medications", double.medications)
    app.router.add_post("/internal/records/refills", double.refill)
    app.router.add_get("/internal/records/refills", double.refills)
    runner, url = await serve(app)
    yield double, BackendClient(ActionSettings(url, TOKEN))
    await runner.cleanup()


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


# -- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Lisinopril 10 MG Oral Tablet", "med-1"),
        ("med-2", "med-2"),
        ("2", "med-2"),
        ("#1", "med-1"),
        ("the metfromin one", "med-2"),
        ("my lisinopril please", "med-1"),
        ("3", None),
        ("the blue pills", None),
        ("", None),
    ],
)
def test_the_patients_words_pick_a_medicine(said: str, expected: str | None) -> None:
    chosen = match_medication(said, [LISINOPRIL, METFORMIN])
    assert (chosen["id"] if chosen else None) == expected


# -- results and medications -------------------------------------------------------------------


async def test_results_are_relayed_as_the_backend_wrote_them(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    double, client = backend
    tracker = make_tracker(sender="conv-9", text="r my results in", intent="check_results")
    events = await ActionCheckResults(client).run(dispatcher, tracker, {})
    assert events == []
    assert [m["text"] for m in dispatcher.messages] == [
        "Here are your latest results.",
        "Lipid panel: ...",
    ]
    assert double.queries == ["conv-9"]


@pytest.mark.parametrize(
    ("action", "name"),
    [
        (ActionCheckResults, "action_check_results"),
        (ActionListMedications, "action_list_medications"),
        (ActionRefillStatus, "action_refill_status"),
        (ActionStartRefill, "action_start_refill"),
    ],
)
async def test_an_unverified_conversation_is_sent_to_identity_first(
    backend: tuple[RecordsDouble, BackendClient],
    dispatcher: CollectingDispatcher,
    action: type,
    name: str,
) -> None:
    double, client = backend
    double.verified = False
    events = await action(client).run(dispatcher, make_tracker(), {})
    assert slots(events) == {"pending_action": name}
    assert followups(events) == ["identity_form"]
    assert dispatcher.messages == []


async def test_the_backend_down_gets_an_apology_not_a_crash(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    double, client = backend
    double.down = True
    assert await ActionCheckResults(client).run(dispatcher, make_tracker(), {}) == []
    assert "can't reach your results" in dispatcher.messages[0]["text"]


async def test_medications_are_listed(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    _, client = backend
    await ActionListMedications(client).run(dispatcher, make_tracker(), {})
    assert dispatcher.messages[0]["text"].startswith("Your 2 active prescriptions")


def test_refusals_other_than_not_verified_are_explained() -> None:
    dispatcher = CollectingDispatcher()
    assert (
        refused("action_check_results", PatientAccessDenied("/x", "not_in_care"), dispatcher) == []
    )
    assert dispatcher.messages[0]["text"] == NOT_IN_CARE


# -- refills -----------------------------------------------------------------------------------


async def test_start_refill_with_several_medicines_asks_which(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    _, client = backend
    tracker = make_tracker(text="i need a refill", intent="request_refill")
    events = await ActionStartRefill(client).run(dispatcher, tracker, {})
    assert slots(events)["refill_medication"] is None
    assert [o["id"] for o in slots(events)["refill_options"]] == ["med-1", "med-2"]
    assert slots(events)["refill_pharmacies"] == ["CVS Main St"]
    assert followups(events) == ["refill_form"]


async def test_start_refill_naming_the_medicine_preselects_it(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    _, client = backend
    tracker = make_tracker(text="can u refil my metformin", intent="request_refill")
    events = await ActionStartRefill(client).run(dispatcher, tracker, {})
    assert slots(events)["refill_medication"] == "med-2"


async def test_start_refill_with_nothing_to_refill_says_so_and_listens(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    double, client = backend
    double.active = []
    events = await ActionStartRefill(client).run(dispatcher, make_tracker(), {})
    assert followups(events) == ["action_listen"]
    assert "can't find an active prescription" in dispatcher.messages[0]["text"]


async def test_the_medicine_question_offers_one_button_each(
    dispatcher: CollectingDispatcher,
) -> None:
    tracker = make_tracker(slots={"refill_options": [LISINOPRIL, METFORMIN]})
    await ActionAskRefillMedication().run(dispatcher, tracker, {})
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        LISINOPRIL["name"],
        METFORMIN["name"],
    ]


def test_validation_turns_a_reply_into_the_prescription_id(
    dispatcher: CollectingDispatcher,
) -> None:
    tracker = make_tracker(slots={"refill_options": [LISINOPRIL, METFORMIN]})
    form = ValidateRefillForm()
    assert form.validate_refill_medication("2", dispatcher, tracker, {}) == {
        "refill_medication": "med-2"
    }
    assert form.validate_refill_medication("aspirin", dispatcher, tracker, {}) == {
        "refill_medication": None
    }
    assert "couldn't tell which medicine" in dispatcher.messages[0]["text"]
    assert form.validate_refill_pharmacy("  CVS   Main St ", dispatcher, tracker, {}) == {
        "refill_pharmacy": "CVS Main St"
    }
    assert form.validate_refill_pharmacy("x", dispatcher, tracker, {}) == {"refill_pharmacy": None}


async def test_the_confirmation_warns_when_the_prescriber_must_decide(
    dispatcher: CollectingDispatcher,
) -> None:
    tracker = make_tracker(
        slots={
            "refill_options": [LISINOPRIL, METFORMIN],
            "refill_medication": "med-2",
            "refill_pharmacy": "CVS Main St",
        }
    )
    await ActionAskRefillConfirmed().run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    assert "Metformin" in text and "CVS Main St" in text and "Dr Ana Rivera" in text
    assert "no refills left" in text and "prescriber will need to decide" in text
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny"]


async def test_a_confirmed_refill_is_sent_and_the_form_slots_cleared(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    double, client = backend
    tracker = make_tracker(
        sender="conv-3",
        slots={
            "refill_medication": "med-1",
            "refill_pharmacy": "CVS Main St",
            "refill_confirmed": True,
        },
    )
    events = await ActionSubmitRefill(client).run(dispatcher, tracker, {})
    assert double.refill_bodies == [
        {
            "conversation_id": "conv-3",
            "medication_request_id": "med-1",
            "pharmacy": "CVS Main St",
        }
    ]
    assert dispatcher.messages[0]["text"] == "Done: I've sent a refill request."
    assert all(value is None for value in slots(events).values())


async def test_a_declined_refill_sends_nothing(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    double, client = backend
    tracker = make_tracker(slots={"refill_medication": "med-1", "refill_confirmed": False})
    await ActionSubmitRefill(client).run(dispatcher, tracker, {})
    assert double.refill_bodies == []
    assert "haven't sent" in dispatcher.messages[0]["text"]


async def test_refill_status_is_relayed(
    backend: tuple[RecordsDouble, BackendClient], dispatcher: CollectingDispatcher
) -> None:
    _, client = backend
    await ActionRefillStatus(client).run(dispatcher, make_tracker(), {})
    assert dispatcher.messages[0]["text"].startswith("Your refill requests")


@pytest.mark.parametrize(
    ("text", "intent"), [("no", "deny"), ("cancel that", "nlu_fallback"), ("never mind", "deny")]
)
def test_the_patient_can_call_the_refill_off_mid_form(
    dispatcher: CollectingDispatcher, text: str, intent: str
) -> None:
    tracker = make_tracker(text=text, intent=intent, slots={"refill_options": [LISINOPRIL]})
    form = ValidateRefillForm()
    stopped = {"refill_confirmed": False, "requested_slot": None}
    assert form.validate_refill_medication(text, dispatcher, tracker, {}) == {
        "refill_medication": None,
        **stopped,
    }
    assert form.validate_refill_pharmacy(text, dispatcher, tracker, {}) == {
        "refill_pharmacy": None,
        **stopped,
    }
    assert dispatcher.messages == []


def test_a_pharmacy_called_stop_and_shop_is_a_pharmacy(dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker(text="Stop & Shop, Route 9", intent="nlu_fallback")
    assert ValidateRefillForm().validate_refill_pharmacy(
        "Stop & Shop, Route 9", dispatcher, tracker, {}
    ) == {"refill_pharmacy": "Stop & Shop, Route 9"}
