"""Booking, rescheduling, cancelling and listing appointments in the conversation.

One form, `appointment_form`, serves the three flows; `appt_mode` decides which questions it
asks (`ValidateAppointmentForm.required_slots`). Understanding dates, finding slots and the
alternatives, and writing to the EHR are the backend's (`/internal/appointments/*`); these
actions carry the patient's words there and the questions, offers and outcome back. Replies
that change course mid-flow ("actually Friday", "what's the address?", "never mind") are
recognised by the validators, so the form keeps its place.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import appointments_text as say
from bot.actions.backend_client import (
    BackendUnavailable,
    PatientAccessDenied,
    UsesBackend,
)
from bot.actions.identity_gate import ask_identity_first

FORM = "appointment_form"
OFFERED = "offered"  # appt_request when the first words were enough to offer slots
START = "action_start_appointment"
IDENTITY_DONE = "action_identity_done"  # runs START again once the patient is verified
HANDOFF_ACTION = "action_request_human"
INTENT_MODES = {
    "book_appointment": "book",
    "reschedule_appointment": "reschedule",
    "cancel_appointment": "cancel",
}
FLOW_SLOTS = (
    "appt_criteria",
    "appt_request",
    "appt_question",
    "appt_offers",
    "appt_note",
    "appt_choice",
    "appt_confirm",
    "appt_target",
    "appt_appointments",
    "appt_result",
)
REQUIRED = {
    "book": ["appt_request", "appt_choice", "appt_confirm"],
    "reschedule": ["appt_target", "appt_request", "appt_choice", "appt_confirm"],
    "cancel": ["appt_target", "appt_confirm"],
}
TRIAGE_BOOKING_LEVELS = frozenset({"consultation_24", "consultation"})
NOTHING_FREE_BUTTONS = [
    {"title": "Ask the clinic to find a time", "payload": "request"},
    {"title": "Talk to a person", "payload": "person"},
    {"title": "Try another day", "payload": "another day"},
]
ASK_OTHER_TIME = "Which other day or time would suit you?"
UNAVAILABLE = (
    "Sorry, I can't reach the appointment system right now. Please try again in a few "
    "minutes, or call the clinic."
)
RECHECK_IDENTITY = (
    "For your privacy I need to confirm who you are again before I can go on. "
    "Please ask me again once that's done."
)
NOT_FOR_CHILD = (
    "I can only book for a child whose record lists you as their parent or guardian, one "
    "child at a time. Please call the clinic to book for them."
)


def _subject(tracker: Tracker) -> dict[str, Any]:
    return {
        "conversation_id": tracker.sender_id,
        "for_child": bool(tracker.get_slot("appt_for_child")),
    }


def _stop(result: str | None) -> dict[str, Any]:
    """Slot values that end the form at once; `result` is said by action_finish_appointment."""
    return {"appt_mode": "stopped", "appt_result": result}


def _offer_slots(found: dict[str, Any]) -> dict[str, Any]:
    """Slots for a search answer: the offers, or the question still to ask."""
    values: dict[str, Any] = {"appt_criteria": found["criteria"]}
    if found.get("question"):
        values.update(appt_question=found["question"], appt_offers=None, appt_note=None)
        return values
    values.update(appt_question=None, appt_offers=found["slots"], appt_note=found.get("note"))
    return values


def _booking_text(tracker: Tracker) -> tuple[str, str | None]:
    """The words to search with and the visit reason, carrying a triage outcome over."""
    text = str(tracker.latest_message.get("text") or "")
    entities = tracker.latest_message.get("entities") or []
    reason = next((e.get("value") for e in entities if e.get("entity") == "visit_reason"), None)
    extra = [str(e["value"]) for e in entities if e.get("entity") in {"specialty", "clinic"}]
    outcome = tracker.get_slot("triage_outcome") or {}
    if text.startswith("/") and outcome.get("level") in TRIAGE_BOOKING_LEVELS:
        # The patient pressed "Book an appointment" after triage: a family doctor, soonest,
        # for the complaint they described.
        complaint = tracker.get_slot("triage_complaint")
        return "family doctor as soon as possible", str(complaint)[:300] if complaint else None
    if text.startswith("/"):
        text = ""
    return " ".join([text, *extra]).strip(), str(reason)[:300] if reason else None


# Set by the outreach reminder (bot/actions/outreach.py): the appointment it was about.
REMINDED_SLOT = "outreach_appointment_id"


class ActionStartAppointment(UsesBackend, Action):
    """Starts booking, rescheduling or cancelling from the patient's first words."""

    def name(self) -> str:
        return START

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        # Back from identity verification (or a button). The latest message is then the code,
        # whose intent can be anything (NLU reads "874728" as book_appointment), so the action
        # that ran us decides, not the intent.
        resumed = intent not in INTENT_MODES or tracker.latest_action_name == IDENTITY_DONE
        if resumed and tracker.get_slot("appt_pending_text") is not None:
            mode = str(tracker.get_slot("appt_mode") or "book")
            text, reason = (
                str(tracker.get_slot("appt_pending_text")),
                tracker.get_slot("appt_reason"),
            )
        else:
            mode = INTENT_MODES.get(intent, "book")
            text, reason = _booking_text(tracker)
        values: dict[str, Any] = {name: None for name in FLOW_SLOTS}
        values.update(
            appt_mode=mode,
            appt_reason=reason,
            appt_for_child=say.mentions_child(text),
            appt_pending_text=None,
            appt_criteria={},
        )
        body = {
            "conversation_id": tracker.sender_id,
            "for_child": values["appt_for_child"],
        }
        try:
            if mode == "book":
                found = await self.backend().appointments("search", {**body, "text": text})
                values.update(_offer_slots(found))
                values["appt_request"] = None if found.get("question") else OFFERED
            else:
                listed = await self.backend().appointments("list", body)
                # "R" or "X" answering a reminder means the appointment it was about.
                reminded = tracker.get_slot(REMINDED_SLOT)
                values.update(
                    self._targets(dispatcher, listed["appointments"], mode, text, reminded)
                )
        except PatientAccessDenied as refused:
            if refused.code == "not_verified":
                remember = [SlotSet("appt_mode", mode), SlotSet("appt_pending_text", text)]
                return [*remember, SlotSet("appt_reason", reason), *ask_identity_first(START)]
            values.update(_stop(NOT_FOR_CHILD))
        except BackendUnavailable:
            values.update(_stop(UNAVAILABLE))
        events: list[EventType] = [SlotSet(k, v) for k, v in values.items()]
        if values.get("appt_mode") == "stopped":
            # Nothing to ask (no appointments, backend down): say so without opening the form.
            return [*events, FollowupAction("action_finish_appointment")]
        return [*events, FollowupAction(FORM)] if resumed else events

    @staticmethod
    def _targets(
        dispatcher: CollectingDispatcher,
        appointments: list[dict[str, Any]],
        mode: str,
        text: str,
        reminded: str | None = None,
    ) -> dict[str, Any]:
        if not appointments:
            return _stop("You have no upcoming appointments with us. Would you like to book one?")
        values: dict[str, Any] = {"appt_appointments": appointments}
        about = [a for a in appointments if reminded and a["id"] == reminded]
        if about:  # the backend listed it, so it is still the patient's and still upcoming
            appointments = about
            values[REMINDED_SLOT] = None
        if len(appointments) == 1:
            values["appt_target"] = appointments[0]["id"]
            if mode == "reschedule":
                values["appt_criteria"] = {"practitioner_id": appointments[0]["practitioner_id"]}
                values["appt_question"] = (
                    f"Your appointment is {appointments[0]['label']}. "
                    "When would you like to move it to?"
                )
        return values


class ValidateAppointmentForm(UsesBackend, FormValidationAction):
    """Understands each reply in the context of the question it answers.

    NOT_AN_ANSWER: rasa_sdk validates every slot event at the end of the tracker, so when the
    form starts right after action_start_appointment reset the flow's slots to None, each
    validator is called with None. That is no reply from the patient: it is ignored, or it
    would search with no words and say "was that a yes or a no?" before any question.
    """

    def name(self) -> str:
        return "validate_appointment_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return list(REQUIRED.get(str(tracker.get_slot("appt_mode")), []))

    async def _digressed(
        self, value: str, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any] | None:
        """Handle a change of course; None when the reply is an answer after all."""
        kind = say.digression(value)
        offers = tracker.get_slot("appt_offers") or []
        if kind == "stop":
            return _stop("OK, I've stopped there: nothing has been booked or changed.")
        if kind == "person":
            return {"appt_mode": "person", "appt_result": None}
        if kind == "restart":
            dispatcher.utter_message(text="OK, let's start again.")
            mode = str(tracker.get_slot("appt_mode"))
            restart: dict[str, Any] = {n: None for n in FLOW_SLOTS if n != "appt_appointments"}
            restart["appt_criteria"] = {}
            if mode != "book" and len(tracker.get_slot("appt_appointments") or []) == 1:
                restart["appt_target"] = tracker.get_slot("appt_target")
            return {**restart, slot: None}
        if kind == "address":
            dispatcher.utter_message(text=say.addresses(offers))
            return {slot: None}
        if kind == "who":
            dispatcher.utter_message(text=say.clinicians(offers))
            return {slot: None}
        return None

    async def _search(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str
    ) -> dict[str, Any]:
        body = {
            **_subject(tracker),
            "text": text,
            "criteria": tracker.get_slot("appt_criteria") or {},
        }
        try:
            return _offer_slots(await self.backend().appointments("search", body))
        except PatientAccessDenied:
            return _stop(RECHECK_IDENTITY)
        except BackendUnavailable:
            return _stop(UNAVAILABLE)

    async def validate_appt_request(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}  # cleared by the flow itself (see NOT_AN_ANSWER), not a reply
        text = str(value or "")
        if text == OFFERED:  # filled by action_start_appointment: the search is done
            return {"appt_request": OFFERED}
        digressed = await self._digressed(text, dispatcher, tracker, "appt_request")
        if digressed is not None:
            return digressed
        found = await self._search(dispatcher, tracker, text)
        if found.get("appt_mode") == "stopped":
            return found
        return {**found, "appt_request": None if found.get("appt_question") else text}

    async def validate_appt_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}  # cleared by the flow itself (see NOT_AN_ANSWER), not a reply
        text = str(value or "")
        offers = tracker.get_slot("appt_offers") or []
        if not offers and text in {"request", "person"}:
            return await self._nothing_free(text, tracker)
        chosen = say.pick(text, offers)
        if chosen is not None:
            return {"appt_choice": chosen["id"]}
        digressed = await self._digressed(text, dispatcher, tracker, "appt_choice")
        if digressed is not None:
            return digressed
        before = tracker.get_slot("appt_criteria") or {}
        found = await self._search(dispatcher, tracker, text)
        if found.get("appt_mode") == "stopped":
            return found
        if found.get("appt_question"):
            return {**found, "appt_request": None, "appt_choice": None}
        if found.get("appt_criteria") == before and not offers:
            return {**found, "appt_request": None, "appt_question": ASK_OTHER_TIME}
        if found.get("appt_criteria") == before:
            dispatcher.utter_message(
                text="Please pick one of the times by its number, or tell me another day or time."
            )
        return {**found, "appt_choice": None}

    async def _nothing_free(self, choice: str, tracker: Tracker) -> dict[str, Any]:
        if choice == "person":
            return {"appt_mode": "person", "appt_result": None}
        body = {
            **_subject(tracker),
            "criteria": tracker.get_slot("appt_criteria") or {},
            "reason": tracker.get_slot("appt_reason"),
        }
        try:
            requested = await self.backend().appointments("request", body)
        except PatientAccessDenied:
            return _stop(RECHECK_IDENTITY)
        except BackendUnavailable:
            return _stop(UNAVAILABLE)
        return _stop(str(requested["message"]))

    async def validate_appt_target(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}  # cleared by the flow itself (see NOT_AN_ANSWER), not a reply
        text = str(value or "")
        appointments = tracker.get_slot("appt_appointments") or []
        chosen = say.pick(text, appointments)
        if chosen is not None:
            values: dict[str, Any] = {"appt_target": chosen["id"]}
            if chosen.get("practitioner_id") and not tracker.get_slot("appt_criteria"):
                values["appt_criteria"] = {"practitioner_id": chosen["practitioner_id"]}
            if tracker.get_slot("appt_mode") == "reschedule" and not tracker.get_slot(
                "appt_question"
            ):
                values["appt_question"] = "When would you like to move it to?"
            return values
        digressed = await self._digressed(text, dispatcher, tracker, "appt_target")
        if digressed is not None:
            return digressed
        dispatcher.utter_message(text="Please pick the appointment by its number.")
        return {"appt_target": None}

    async def validate_appt_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}  # cleared by the flow itself (see NOT_AN_ANSWER), not a reply
        text = str(value or "")
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        mode = str(tracker.get_slot("appt_mode"))
        if is_yes := say.is_yes(text, intent):
            return await self._carry_out(mode, dispatcher, tracker)
        if say.is_no(text, intent) and not is_yes:
            if mode == "cancel":
                return _stop("OK, I've kept your appointment as it is.")
            dispatcher.utter_message(text="No problem. Which one would suit you instead?")
            return {"appt_choice": None, "appt_confirm": None}
        digressed = await self._digressed(text, dispatcher, tracker, "appt_confirm")
        if digressed is not None:
            return digressed
        dispatcher.utter_message(text="Sorry, was that a yes or a no?")
        return {"appt_confirm": None}

    async def _carry_out(
        self, mode: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        subject = _subject(tracker)
        criteria = tracker.get_slot("appt_criteria") or {}
        try:
            if mode == "cancel":
                body = {**subject, "appointment_id": tracker.get_slot("appt_target")}
                answer = await self.backend().appointments("cancel", body)
                return {"appt_confirm": "yes", "appt_result": say.cancelled_text(answer)}
            body = {**subject, "slot_id": tracker.get_slot("appt_choice"), "criteria": criteria}
            if mode == "reschedule":
                body["appointment_id"] = tracker.get_slot("appt_target")
                answer = await self.backend().appointments("reschedule", body)
            else:
                body["reason"] = tracker.get_slot("appt_reason")
                answer = await self.backend().appointments("book", body)
        except PatientAccessDenied:
            return _stop(RECHECK_IDENTITY)
        except BackendUnavailable:
            return _stop(UNAVAILABLE)
        if answer["outcome"] == "slot_taken":
            dispatcher.utter_message(text="Sorry, someone has just taken that time.")
            offers = answer.get("offers") or {"criteria": criteria, "slots": [], "note": ""}
            return {**_offer_slots(offers), "appt_choice": None, "appt_confirm": None}
        verb = "moved to" if mode == "reschedule" else "booked"
        return {"appt_confirm": "yes", "appt_result": say.booked_text(answer, verb)}


class ActionAskApptRequest(Action):
    """Asks what is still missing: the kind of appointment, or when."""

    def name(self) -> str:
        return "action_ask_appt_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = tracker.get_slot("appt_question") or "What kind of appointment, and when?"
        dispatcher.utter_message(text=str(question))
        return []


class ActionAskApptChoice(Action):
    """Offers the free slots as buttons, or what can be done when nothing is free."""

    def name(self) -> str:
        return "action_ask_appt_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        offers = tracker.get_slot("appt_offers") or []
        note = str(tracker.get_slot("appt_note") or "")
        if not offers:
            dispatcher.utter_message(
                text=note or "I couldn't find a free time for that.", buttons=NOTHING_FREE_BUTTONS
            )
            return []
        intro = note or "These times are free. Which one would you like?"
        dispatcher.utter_message(text=intro, buttons=say.slot_buttons(offers))
        return []


class ActionAskApptTarget(Action):
    """Lists the patient's appointments to pick the one to change or cancel."""

    def name(self) -> str:
        return "action_ask_appt_target"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        appointments = tracker.get_slot("appt_appointments") or []
        verb = "move" if tracker.get_slot("appt_mode") == "reschedule" else "cancel"
        buttons = [{"title": str(a["label"]), "payload": str(a["id"])} for a in appointments]
        dispatcher.utter_message(
            text=f"Which appointment would you like to {verb}?", buttons=buttons
        )
        return []


class ActionAskApptConfirm(Action):
    """Reads back what is about to happen and asks for a yes."""

    def name(self) -> str:
        return "action_ask_appt_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        mode = tracker.get_slot("appt_mode")
        buttons = [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]
        if mode == "cancel":
            target = _by_id(tracker.get_slot("appt_appointments"), tracker.get_slot("appt_target"))
            label = target["label"] if target else "this appointment"
            dispatcher.utter_message(text=f"Cancel your appointment {label}?", buttons=buttons)
            return []
        chosen = _by_id(tracker.get_slot("appt_offers"), tracker.get_slot("appt_choice"))
        label = chosen["label"] if chosen else "that time"
        address = (
            f" ({chosen['clinic_address']})" if chosen and chosen.get("clinic_address") else ""
        )
        verb = "Move your appointment to" if mode == "reschedule" else "Book"
        dispatcher.utter_message(text=f"{verb} {label}{address}?", buttons=buttons)
        return []


def _by_id(options: Any, wanted: Any) -> dict[str, Any] | None:
    return next((o for o in options or [] if o.get("id") == wanted), None)


class ActionFinishAppointment(Action):
    """Says how it ended (booked, moved, cancelled, stopped) and clears the flow's slots."""

    def name(self) -> str:
        return "action_finish_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        result = tracker.get_slot("appt_result")
        mode = tracker.get_slot("appt_mode")
        if result:
            dispatcher.utter_message(text=str(result))
        events: list[EventType] = [SlotSet(name, None) for name in FLOW_SLOTS]
        events += [SlotSet("appt_mode", None), SlotSet("appt_for_child", None)]
        if mode == "person":
            events.append(FollowupAction(HANDOFF_ACTION))
        return events


class ActionListAppointments(UsesBackend, Action):
    """Lists the patient's upcoming appointments."""

    def name(self) -> str:
        return "action_list_appointments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        body = {"conversation_id": tracker.sender_id, "for_child": say.mentions_child(text)}
        try:
            listed = await self.backend().appointments("list", body)
        except PatientAccessDenied as refused:
            if refused.code == "not_verified":
                return ask_identity_first(self.name())
            dispatcher.utter_message(text=NOT_FOR_CHILD)
            return []
        except BackendUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        appointments = listed["appointments"]
        if not appointments:
            dispatcher.utter_message(
                text="You have no upcoming appointments with us. Would you like to book one?"
            )
            return []
        lines = [f"{i}. {a['label']}" for i, a in enumerate(appointments, 1)]
        heading = "Your upcoming appointments:" if len(lines) > 1 else "Your upcoming appointment:"
        dispatcher.utter_message(text="\n".join([heading, *lines, listed["how_to_cancel"]]))
        return []
