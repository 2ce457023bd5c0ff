"""Outreach in the dialogue: the words of each scheduled message, and the reply that confirms
an appointment.

The scheduler (backend/outreach) triggers `EXTERNAL_<kind>` intents with entities; a rule maps
each to one action below, which says the message, so it is a turn of the conversation and the
patient's reply ("C", "R", "X", "I feel worse") continues from it. Replies R and X are the
appointments flow's own intents; a check-in answer that describes symptoms goes into triage.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import (
    BackendUnavailable,
    PatientAccessDenied,
    UsesBackend,
)
from bot.actions.identity_gate import ask_identity_first

APPOINTMENT_SLOT = "outreach_appointment_id"
# Never "reply CANCEL": on SMS and WhatsApp that word is a carrier opt-out (hub/keywords.py).
REPLY_WORDS = "Reply C to confirm, R to reschedule, or X to cancel it."
CONFIRMED = "Thank you, your appointment is confirmed. See you then!"
NO_APPOINTMENT = (
    "I'm not sure which appointment you mean. Say \"my appointments\" and I'll list them."
)
NOT_CONFIRMABLE = (
    "I couldn't confirm that appointment: it may have been moved or cancelled. Say "
    '"my appointments" to see what is booked.'
)
UNAVAILABLE = (
    "I can't reach the clinic's system right now, so your appointment is not confirmed yet. "
    "Please try again in a few minutes or call the clinic."
)
CHECKIN = (
    "Hello, this is your clinic checking in after your visit yesterday. How are you feeling? "
    "Tell me in a few words. If something is worrying you, say so and I'll help you with "
    "what to do next."
)
RESULTS_READY = (
    'You have new test results from the clinic. To see them here, reply "my results" '
    "(I'll confirm who you are first), or look in your patient portal."
)
# The medicine is not named: a text on a shared phone should not say what the patient takes.
REFILL_NUDGE = (
    "One of your prescriptions runs out in a few days. Would you like me to ask for a "
    'refill? Reply "refill" and I\'ll start the request.'
)
FEELING_WELL = "I'm glad to hear that. If anything changes, just message me here."


def entity(tracker: Tracker, name: str) -> str:
    """The value of an entity of the latest message (the scheduler's), or ''."""
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == name and item.get("value") is not None:
            return str(item["value"])
    return ""


def reminder_text(*, when: str, clinician: str, clinic: str) -> str:
    """'Reminder: your appointment with Dr X at Clinic on <when>. Reply C...'."""
    with_whom = f" with {clinician}" if clinician else ""
    where = f" at {clinic}" if clinic else ""
    on = f" on {when}" if when else ""
    return f"Reminder: you have an appointment{with_whom}{where}{on}. {REPLY_WORDS}"


class ActionOutreachAppointmentReminder(Action):
    """Says the reminder and remembers which appointment a C / R / X reply is about."""

    def name(self) -> str:
        return "action_outreach_appointment_reminder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=reminder_text(
                when=entity(tracker, "appointment_time"),
                clinician=entity(tracker, "clinician_name"),
                clinic=entity(tracker, "clinic_name"),
            )
        )
        return [SlotSet(APPOINTMENT_SLOT, entity(tracker, "appointment_id") or None)]


class ActionOutreachVisitCheckin(Action):
    """Asks how the patient feels the day after a visit."""

    def name(self) -> str:
        return "action_outreach_visit_checkin"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=CHECKIN)
        return []


class ActionOutreachRefillNudge(Action):
    """Offers a refill before the supply runs out."""

    def name(self) -> str:
        return "action_outreach_refill_nudge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=REFILL_NUDGE)
        return []


class ActionOutreachResultsReady(Action):
    """Says results are ready, never what they are (minimum necessary)."""

    def name(self) -> str:
        return "action_outreach_results_ready"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=RESULTS_READY)
        return []


class ActionCheckinFeelingWell(Action):
    """A reassuring answer to a check-in reply that reports no problem."""

    def name(self) -> str:
        return "action_checkin_feeling_well"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=FEELING_WELL)
        return []


class ActionConfirmAppointment(UsesBackend, Action):
    """Reply C / "confirm": records in the EHR that the patient will attend."""

    def name(self) -> str:
        return "action_confirm_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        appointment_id = tracker.get_slot(APPOINTMENT_SLOT)
        if not isinstance(appointment_id, str) or not appointment_id:
            dispatcher.utter_message(text=NO_APPOINTMENT)
            return []
        try:
            await self.backend().confirm_appointment(
                conversation_id=tracker.sender_id, appointment_id=appointment_id
            )
        except PatientAccessDenied as denied:
            if denied.code == "not_verified":
                return ask_identity_first(self.name())
            dispatcher.utter_message(text=NOT_CONFIRMABLE)
            return []
        except BackendUnavailable as failure:
            gone = failure.reason in ("HTTP 404", "HTTP 409")
            dispatcher.utter_message(text=NOT_CONFIRMABLE if gone else UNAVAILABLE)
            return [SlotSet(APPOINTMENT_SLOT, None)] if gone else []
        dispatcher.utter_message(text=CONFIRMED)
        return [SlotSet(APPOINTMENT_SLOT, None)]
