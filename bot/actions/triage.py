"""Symptom triage in the dialogue: start, ask one question at a time, give the outcome.

The decisions are the backend's (symptom_rules over `POST /internal/triage`); these actions
only carry the patient's words and answers there and the questions and outcome back.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import (
    BackendUnavailable,
    ClinicContact,
    TriageStep,
    UsesBackend,
)

# How each level is put to the patient: advice on where to get care, never a diagnosis.
LEVEL_ADVICE = {
    "emergency_ambulance": "Please call {emergency} for an ambulance now.",
    "emergency": "Please go to the emergency department now, or call {emergency}.",
    "consultation_24": "You should be seen by a clinician today or within 24 hours.",
    "consultation": "You should book an appointment with a clinician in the next few days.",
    "self_care": "This can usually be looked after at home.",
}
BOOKING_LEVELS = frozenset({"consultation_24", "consultation"})
# After a consultation-level outcome: lead into the appointment flow (bot/actions/appointments.py
# carries the complaint over as the visit reason).
BOOKING_BUTTONS = [
    {"title": "Book an appointment", "payload": "/book_appointment"},
    {"title": "No, thanks", "payload": "/deny"},
]
SHARED_WITH_CARE_TEAM = frozenset({"emergency_ambulance", "emergency"})
ANSWER_BUTTONS = {"yes": "Yes", "no": "No", "not sure": "Not sure"}
TRIAGE_SLOTS = (
    "triage_complaint",
    "triage_answers",
    "triage_question",
    "triage_answer",
    "triage_outcome",
)


def reset_triage(complaint: str) -> list[EventType]:
    """Start afresh from the patient's complaint: no answers, no question, no outcome."""
    return [SlotSet(name, None) for name in TRIAGE_SLOTS[1:]] + [
        SlotSet("triage_complaint", complaint),
        SlotSet("triage_answers", {}),
    ]


def step_events(step: TriageStep) -> list[EventType]:
    """Slots for a triage step: the next question to ask, or the outcome (ends the form)."""
    if step["next_question"] is not None:
        return [
            SlotSet("triage_question", dict(step["next_question"])),
            SlotSet("triage_answer", None),
            SlotSet("requested_slot", "triage_answer"),
        ]
    return [
        SlotSet("triage_question", None),
        SlotSet("triage_outcome", dict(step)),
        SlotSet("requested_slot", None),
    ]


def outcome_text(outcome: dict[str, Any], clinic: ClinicContact | None) -> str:
    """Where to get care and why, how to book when a visit is advised, what to watch for."""
    level = str(outcome.get("level"))
    advice = LEVEL_ADVICE.get(level, LEVEL_ADVICE["consultation_24"])
    emergency = clinic["emergency_number"] if clinic else "your local emergency number"
    parts = [advice.format(emergency=emergency), str(outcome.get("explanation") or "")]
    if level in SHARED_WITH_CARE_TEAM:  # the backend queued a hand-off for these levels
        parts.append("I have shared this with the clinic's care team, so a clinician will see it.")
    if level in BOOKING_LEVELS:
        parts.append(
            f"To book, call {clinic['name']} on {clinic['phone']} ({clinic['hours']}), "
            "or I can book it for you here now."
            if clinic
            else "I can book it for you here now."
        )
    if outcome.get("safety_net"):
        parts.append(str(outcome["safety_net"]))
    return "\n\n".join(part for part in parts if part)


UNAVAILABLE = (
    "I can't check symptoms right now. If you feel very unwell, or this could be an "
    "emergency, call your local emergency number now; otherwise please call the clinic."
)


class ActionStartTriage(UsesBackend, Action):
    """Keeps the patient's own words as the complaint the questions are about."""

    def name(self) -> str:
        return "action_start_triage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        complaint = (tracker.latest_message.get("text") or "").strip()
        return reset_triage(complaint)


class ValidateTriageForm(UsesBackend, FormValidationAction):
    """Records the reply to the pending question and asks the backend what comes next."""

    def name(self) -> str:
        return "validate_triage_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answers = dict(tracker.get_slot("triage_answers") or {})
        question = tracker.get_slot("triage_question")
        reply = tracker.get_slot("triage_answer")
        if question and reply:
            answers[str(question["id"])] = str(reply)[:500]
        events: list[EventType] = [SlotSet("triage_answers", answers)]
        try:
            step = await self.backend().triage(
                conversation_id=tracker.sender_id,
                complaint=str(tracker.get_slot("triage_complaint") or ""),
                answers=answers,
            )
        except BackendUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return [*events, SlotSet("triage_question", None), SlotSet("requested_slot", None)]
        return events + step_events(step)


class ActionAskTriageAnswer(Action):
    """Asks the pending question, with yes / no / not sure as buttons where they fit."""

    def name(self) -> str:
        return "action_ask_triage_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = tracker.get_slot("triage_question") or {}
        buttons = [
            {"title": ANSWER_BUTTONS.get(answer, answer.capitalize()), "payload": answer}
            for answer in question.get("answers") or []
        ]
        dispatcher.utter_message(
            text=str(question.get("text") or "Can you tell me more?"), buttons=buttons
        )
        return []


class ActionTriageOutcome(UsesBackend, Action):
    """Gives the level of care, the reason, and the safety-net advice."""

    def name(self) -> str:
        return "action_triage_outcome"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        outcome = tracker.get_slot("triage_outcome")
        if not outcome:
            return []  # the backend was unreachable: the patient has been told already
        clinic: ClinicContact | None
        try:
            clinic = await self.backend().clinic_contact()
        except BackendUnavailable:
            clinic = None
        level = str(outcome.get("level"))
        # Only the consultation levels lead into booking; emergencies never get a booking offer.
        buttons = BOOKING_BUTTONS if level in BOOKING_LEVELS else []
        dispatcher.utter_message(text=outcome_text(outcome, clinic), buttons=buttons)
        if level in SHARED_WITH_CARE_TEAM:
            # The backend queued the conversation for a clinician: the assistant steps back
            # until it is handed back (the hub holds the patient's messages meanwhile).
            return [ConversationPaused()]
        return []
