"""Medications and refills in the dialogue.

`action_start_refill` fetches the patient's active prescriptions (or hands over to identity
verification), then `refill_form` confirms which medicine (buttons when several), which
pharmacy, and a final yes; `action_submit_refill` sends it. Whether a refill needs the
prescriber's decision, and what the patient is told to expect, is the backend's answer.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Mapping
from typing import Any, cast

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.backend_client import (
    BackendUnavailable,
    MedicationOption,
    PatientAccessDenied,
    UsesBackend,
)
from bot.actions.results import refused

REFILL_FORM = "refill_form"
REFILL_SLOTS = (
    "refill_options",
    "refill_pharmacies",
    "refill_medication",
    "refill_pharmacy",
    "refill_confirmed",
)
RECORDS_UNAVAILABLE = (
    "I can't reach your prescriptions right now. Please try again in a few minutes, or call "
    "the clinic if you are about to run out."
)
NOTHING_TO_REFILL = (
    "I can't find an active prescription to refill. If you think one is missing, please "
    "call the clinic or ask to talk to the care team."
)
EMPTY_OPTION = {
    "dosage": None,
    "refills_remaining": None,
    "prescriber": None,
    "needs_review": False,
    "review_reason": None,
}
CONFIRM_BUTTONS = [
    {"title": "Yes, send it", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]
_WORD = re.compile(r"[a-z]+")
# Whole replies only: "Stop & Shop, Route 9" is a pharmacy, not a request to stop.
_STOP = re.compile(
    r"^\s*(cancel\b.*|stop|never ?mind|forget (it|that)|no thanks?)\s*[.!]*\s*$", re.IGNORECASE
)
# Ends the form without sending anything: the submit action then says nothing was sent.
STOP_REFILL = {"refill_confirmed": False, "requested_slot": None}


def wants_to_stop(tracker: Tracker) -> bool:
    """The patient declined or called the refill off instead of answering."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return intent == "deny" or bool(_STOP.match(str(tracker.latest_message.get("text") or "")))


def match_medication(text: str, options: list[MedicationOption]) -> MedicationOption | None:
    """The option the patient means: its id, its number in the list, its full name, or a
    word of its name (typos allowed: "metfromin" is metformin). None when unclear."""
    said = text.strip().lower()
    if not said or not options:
        return None
    for option in options:
        if said in (option["id"].lower(), option["name"].lower()):
            return option
    number = re.fullmatch(r"#?\s*(\d{1,2})\.?", said)
    if number:
        index = int(number.group(1)) - 1
        return options[index] if 0 <= index < len(options) else None
    said_words = [w for w in _WORD.findall(said) if len(w) >= 4]
    hits = []
    for option in options:
        name_words = [w for w in _WORD.findall(option["name"].lower()) if len(w) >= 4]
        if any(difflib.get_close_matches(w, name_words, n=1, cutoff=0.8) for w in said_words):
            hits.append(option)
    return hits[0] if len(hits) == 1 else None


def options_from_slot(value: Any) -> list[MedicationOption]:
    """The offered prescriptions kept in the slot (plain JSON once in the tracker)."""
    if not isinstance(value, list):
        return []
    return [
        cast(MedicationOption, {**EMPTY_OPTION, **o})
        for o in value
        if isinstance(o, dict) and "id" in o and "name" in o
    ]


def reset_refill() -> list[EventType]:
    return [SlotSet(name, None) for name in REFILL_SLOTS]


async def say_answer(
    action: str, dispatcher: CollectingDispatcher, asking: Awaitable[Mapping[str, object]]
) -> list[EventType]:
    """Say the text of the backend's answer; a refusal or an unreachable backend is said
    instead."""
    try:
        answer = await asking
    except PatientAccessDenied as denied:
        return refused(action, denied, dispatcher)
    except BackendUnavailable:
        dispatcher.utter_message(text=RECORDS_UNAVAILABLE)
        return []
    dispatcher.utter_message(text=str(answer["text"]))
    return []


class ActionListMedications(UsesBackend, Action):
    """Lists active medications with dose instructions and refills left (`list_medications`)."""

    def name(self) -> str:
        return "action_list_medications"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asking = self.backend().medications(conversation_id=tracker.sender_id)
        return await say_answer(self.name(), dispatcher, asking)


class ActionStartRefill(UsesBackend, Action):
    """Fetches what can be refilled and starts the refill form (`request_refill`)."""

    def name(self) -> str:
        return "action_start_refill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            answer = await self.backend().medications(conversation_id=tracker.sender_id)
        except PatientAccessDenied as denied:
            return refused(self.name(), denied, dispatcher)
        except BackendUnavailable:
            dispatcher.utter_message(text=RECORDS_UNAVAILABLE)
            return [*reset_refill(), FollowupAction("action_listen")]
        options = answer["data"]
        if not options:
            dispatcher.utter_message(text=NOTHING_TO_REFILL)
            return [*reset_refill(), FollowupAction("action_listen")]
        named = match_medication(str(tracker.latest_message.get("text") or ""), options)
        chosen = options[0] if len(options) == 1 else named
        return [
            *reset_refill(),
            SlotSet("refill_options", [dict(o) for o in options]),
            SlotSet("refill_pharmacies", list(answer["pharmacies"])),
            SlotSet("refill_medication", chosen["id"] if chosen else None),
            FollowupAction(REFILL_FORM),
        ]


class ValidateRefillForm(FormValidationAction):
    """Turns the patient's words into one of the offered prescriptions and a pharmacy."""

    def name(self) -> str:
        return "validate_refill_form"

    def validate_refill_medication(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        options = options_from_slot(tracker.get_slot("refill_options"))
        chosen = match_medication(str(slot_value or ""), options)
        if chosen is None and wants_to_stop(tracker):
            return {"refill_medication": None, **STOP_REFILL}
        if chosen is None:
            dispatcher.utter_message(
                text="Sorry, I couldn't tell which medicine you mean. Please pick one of these."
            )
            return {"refill_medication": None}
        return {"refill_medication": chosen["id"]}

    def validate_refill_pharmacy(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        pharmacy = " ".join(str(slot_value or "").split())
        if wants_to_stop(tracker):
            return {"refill_pharmacy": None, **STOP_REFILL}
        if not 2 <= len(pharmacy) <= 200:
            dispatcher.utter_message(
                text="Please tell me the pharmacy's name and street or town, e.g. CVS on Main St."
            )
            return {"refill_pharmacy": None}
        return {"refill_pharmacy": pharmacy}


def chosen_option(tracker: Tracker) -> MedicationOption | None:
    wanted = tracker.get_slot("refill_medication")
    options = options_from_slot(tracker.get_slot("refill_options"))
    return next((o for o in options if o["id"] == wanted), None)


class ActionAskRefillMedication(Action):
    """Which medicine: one button per active prescription."""

    def name(self) -> str:
        return "action_ask_refill_medication"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        options = options_from_slot(tracker.get_slot("refill_options"))
        dispatcher.utter_message(
            text="Which medicine would you like a refill of?",
            buttons=[{"title": o["name"], "payload": o["name"]} for o in options],
        )
        return []


class ActionAskRefillPharmacy(Action):
    """Which pharmacy: earlier ones as buttons, or any name typed."""

    def name(self) -> str:
        return "action_ask_refill_pharmacy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        earlier = [str(p) for p in tracker.get_slot("refill_pharmacies") or []]
        text = "Which pharmacy should it go to? Please give its name and street or town."
        if earlier:
            text = "Which pharmacy should it go to? Pick one you used before, or type another."
        dispatcher.utter_message(text=text, buttons=[{"title": p, "payload": p} for p in earlier])
        return []


class ActionAskRefillConfirmed(Action):
    """Reads the request back before anything is sent, and says when it needs a decision."""

    def name(self) -> str:
        return "action_ask_refill_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        option = chosen_option(tracker)
        name = option["name"] if option else "your medicine"
        prescriber = (option["prescriber"] if option else None) or "your prescriber"
        pharmacy = tracker.get_slot("refill_pharmacy") or "your pharmacy"
        text = f"Shall I send a refill request for {name} to {prescriber}, for {pharmacy}?"
        reason = option["review_reason"] if option else None
        if reason:
            text += f" Please note: {reason}, so the prescriber will need to decide on it."
        dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
        return []


class ActionSubmitRefill(UsesBackend, Action):
    """Sends the confirmed request and says what happens next (or that nothing was sent)."""

    def name(self) -> str:
        return "action_submit_refill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        medication = tracker.get_slot("refill_medication")
        if tracker.get_slot("refill_confirmed") is not True or not medication:
            dispatcher.utter_message(text="All right, I haven't sent a refill request.")
            return reset_refill()
        try:
            answer = await self.backend().request_refill(
                conversation_id=tracker.sender_id,
                medication_request_id=str(medication),
                pharmacy=tracker.get_slot("refill_pharmacy"),
            )
        except PatientAccessDenied as denied:
            return [*reset_refill(), *refused("action_start_refill", denied, dispatcher)]
        except BackendUnavailable:
            dispatcher.utter_message(
                text="Sorry, I couldn't send the request just now. Nothing was sent: please "
                "try again in a few minutes, or call the clinic."
            )
            return reset_refill()
        dispatcher.utter_message(text=answer["text"])
        return reset_refill()


class ActionRefillStatus(UsesBackend, Action):
    """Answers "is my refill ready?" from the refill Task's status (`refill_status`)."""

    def name(self) -> str:
        return "action_refill_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asking = self.backend().refill_status(conversation_id=tracker.sender_id)
        return await say_answer(self.name(), dispatcher, asking)
