"""Confirming who the patient is: the `identity_form`, its questions, logging out.

The backend decides everything (/internal/identity/*): who matches, where the code goes, how
many tries are left. The form only asks, relays and remembers as little as it can: once the
backend has the name and birth date, their slots hold a placeholder, and a typed code is
cleared in the same turn it is checked (Rasa's tracker store keeps the raw messages, encrypted
by bot/tracker_store.py). On SMS and WhatsApp the backend already knows
the sender's number, so the form asks only for the birth date; elsewhere it asks for the
name first. Whatever matched, the answer is "if those details match our records, we've sent a
code", and the form asks for the code. See docs/identity.md.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date
from typing import Any

from dateutil import parser as date_parser
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.backend_client import BackendUnavailable, UsesBackend
from bot.actions.identity_gate import PENDING_ACTION_SLOT, resume_pending

FORM = "identity_form"
FAMILY, GIVEN, BIRTH_DATE = "identity_family_name", "identity_given_name", "identity_birth_date"
CHOICE, CODE = "identity_choice", "identity_code"
OUTCOME, OPTIONS = "identity_outcome", "identity_options"
IDENTITY_SLOTS = (FAMILY, GIVEN, BIRTH_DATE, CHOICE, CODE, OUTCOME, OPTIONS)
GIVEN_TO_BACKEND = "(given)"  # what a name or birth date slot holds once the backend has it
TERMINAL = frozenset({"verified", "not_confirmed", "locked", "rate_limited", "unavailable"})
FOUR_DIGIT_YEAR = re.compile(r"\b(19|20)\d{2}\b")

WHY = (
    "Before I can share anything about your health, I need to confirm who you are. This keeps "
    "your information private."
)
ASK_FAMILY = "What is your last name (family name)?"
ASK_GIVEN = "Thank you. And your first name?"
ASK_BIRTH_DATE = "What is your date of birth? For example: 14 March 1985."
BAD_BIRTH_DATE = (
    "Sorry, I couldn't read that as a date of birth. Please write it with the year, for "
    "example 14 March 1985 or 03/14/1985."
)
# The one answer to the name and birth date, whether they matched anyone or not: anything
# else would tell a stranger who is a patient (docs/identity.md, "What a stranger learns").
CODE_SENT = (
    "Thank you. If those details match our records, we've sent a 6-digit code by text message "
    "to the phone on file. It is valid for 10 minutes."
)
ASK_CODE = "Please type the 6-digit code here."
BAD_CODE = "The code is the 6 digits in the text message we just sent, for example 123456."
WRONG_CODE = "That code doesn't match. You can try {left} more time{s}."
EXPIRED = "That code is no longer valid. Let's send you a new one."
CHOOSE = "More than one person uses this phone number. Which one are you?"
BAD_CHOICE = "Please answer with the number next to your initials."
CONFIRMED = "Thank you, you're confirmed."
NOT_CONFIRMED = (
    "I'm sorry, I couldn't confirm your identity with those details. For your privacy I can't "
    "say more here. Please call the clinic at {phone} and the team will help you."
)
LOCKED = (
    "For your security, I've paused identity checks for {minutes} minutes after several "
    "unsuccessful attempts. This is nothing you need to worry about. If you need help sooner, "
    "please call the clinic at {phone}."
)
RATE_LIMITED = (
    "There have been too many attempts in the last hour, so I can't send another code right "
    "now. Please try again later, or call the clinic at {phone}."
)
UNAVAILABLE = (
    "Sorry, I can't check your identity right now. Please try again in a few minutes, or call "
    "the clinic at {phone}."
)
LOGGED_OUT = (
    "Done: I've ended your confirmed session in this conversation. To see personal "
    "information again, you'll be asked to confirm who you are."
)
ALREADY_CONFIRMED = "You're already confirmed in this conversation. What can I help you with?"


_UNASKED: dict[str, Any] = {}
_STATUS: ContextVar[dict[str, Any] | None] = ContextVar("identity_status", default=_UNASKED)


class _IdentityBackend(UsesBackend):
    """The backend client, and the clinic's phone for the refusals that name it."""

    async def clinic_phone(self) -> str:
        try:
            return (await self.backend().clinic_contact())["phone"]
        except BackendUnavailable:
            return "the number on our website"


def parse_birth_date(text: str, *, today: date) -> date | None:
    """A birth date with a four-digit year (US order for 03/04/1985), or None."""
    if not FOUR_DIGIT_YEAR.search(text or ""):
        return None
    try:
        parsed = date_parser.parse(text, dayfirst=False, fuzzy=True).date()
    except (ValueError, OverflowError):
        return None
    if parsed > today or parsed.year < 1900:
        return None
    return parsed


def parse_code(text: str) -> str | None:
    """The 6 digits of a code, however they were spaced ("123 456", "123-456")."""
    digits = re.sub(r"[\s\-.]", "", text or "")
    return digits if re.fullmatch(r"\d{6}", digits) else None


def parse_choice(text: str, count: int) -> int | None:
    found = re.search(r"\d+", text or "")
    if found is None:
        return None
    number = int(found.group())
    return number if 1 <= number <= count else None


def _real(value: Any) -> str | None:
    """A name slot's value, unless it is empty or the placeholder."""
    if not isinstance(value, str) or not value.strip() or value == GIVEN_TO_BACKEND:
        return None
    return value.strip()[:100]


class ValidateIdentityForm(_IdentityBackend, FormValidationAction):
    """Asks for what the channel needs and hands each answer to the backend."""

    def name(self) -> str:
        return "validate_identity_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # rasa_sdk asks for the required slots three times a turn: ask the backend once.
        token = _STATUS.set(await self._status(tracker))
        try:
            return await super().run(dispatcher, tracker, domain)
        finally:
            _STATUS.reset(token)

    async def _status(self, tracker: Tracker) -> dict[str, Any] | None:
        try:
            return await self.backend().identity("status", {"conversation_id": tracker.sender_id})
        except BackendUnavailable:
            return None

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(OUTCOME) in TERMINAL:
            return []
        status = _STATUS.get()
        if status is _UNASKED:
            status = await self._status(tracker)
        if status is None:
            return []  # the backend is down: action_identity_done says sorry
        if status["verified"] or status["locked"]:
            return []
        wanted = [] if status["identifies_by"] == "phone" else [FAMILY, GIVEN]
        wanted.append(BIRTH_DATE)
        if tracker.get_slot(OPTIONS):
            wanted.append(CHOICE)
        wanted.append(CODE)
        return wanted

    async def validate_identity_family_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {FAMILY: _real(value)}

    async def validate_identity_given_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {GIVEN: _real(value)}

    async def validate_identity_birth_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        born = parse_birth_date(str(value or ""), today=date.today())
        if born is None:
            dispatcher.utter_message(text=BAD_BIRTH_DATE)
            return {BIRTH_DATE: None}
        body: dict[str, Any] = {
            "conversation_id": tracker.sender_id,
            "birth_date": born.isoformat(),
        }
        for key, slot in (("family", FAMILY), ("given", GIVEN)):
            if (name := _real(tracker.get_slot(slot))) is not None:
                body[key] = name
        forget = {BIRTH_DATE: GIVEN_TO_BACKEND}
        if tracker.get_slot(FAMILY) is not None:
            forget |= {FAMILY: GIVEN_TO_BACKEND, GIVEN: GIVEN_TO_BACKEND}
        step = await self._step(dispatcher, "start", body)
        if step is None:
            return {**forget, OUTCOME: "unavailable"}
        return {**forget, **await self._relay(dispatcher, step)}

    async def validate_identity_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        options = tracker.get_slot(OPTIONS) or []
        choice = parse_choice(str(value or ""), len(options))
        if choice is None:
            dispatcher.utter_message(text=BAD_CHOICE)
            return {CHOICE: None}
        body = {"conversation_id": tracker.sender_id, "option": choice}
        step = await self._step(dispatcher, "choose", body)
        if step is None:
            return {CHOICE: GIVEN_TO_BACKEND, OUTCOME: "unavailable"}
        return {CHOICE: GIVEN_TO_BACKEND, **await self._relay(dispatcher, step)}

    async def validate_identity_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = parse_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(text=BAD_CODE)
            return {CODE: None}
        body = {"conversation_id": tracker.sender_id, "code": code}
        step = await self._step(dispatcher, "confirm", body)
        if step is None:
            return {CODE: None, OUTCOME: "unavailable"}
        # The code leaves the slots now, whatever the answer.
        return {CODE: None, **await self._relay(dispatcher, step)}

    async def _step(
        self, dispatcher: CollectingDispatcher, step: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            return await self.backend().identity(step, body)
        except BackendUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE.format(phone=await self.clinic_phone()))
            return None

    async def _relay(
        self, dispatcher: CollectingDispatcher, step: dict[str, Any]
    ) -> dict[str, Any]:
        """Say what the backend's answer means; the slots that follow from it."""
        outcome = step["outcome"]
        if outcome == "awaiting_code":
            dispatcher.utter_message(text=CODE_SENT)
            return {OPTIONS: None, CODE: None}
        if outcome == "choose":
            return {OPTIONS: list(step["options"]), CHOICE: None}
        if outcome == "verified":
            dispatcher.utter_message(text=CONFIRMED)
            return {OUTCOME: "verified", OPTIONS: None}
        if outcome == "wrong_code":
            left = int(step.get("attempts_left") or 0)
            dispatcher.utter_message(text=WRONG_CODE.format(left=left, s="" if left == 1 else "s"))
            return {}
        if outcome in ("expired", "no_pending"):
            dispatcher.utter_message(text=EXPIRED)  # ask again: the details were not kept
            return {FAMILY: None, GIVEN: None, BIRTH_DATE: None, OPTIONS: None, CHOICE: None}
        phone = await self.clinic_phone()
        if outcome == "locked":
            minutes = step.get("retry_after_minutes") or 15
            dispatcher.utter_message(text=LOCKED.format(minutes=minutes, phone=phone))
            return {OUTCOME: "locked"}
        if outcome == "rate_limited":
            dispatcher.utter_message(text=RATE_LIMITED.format(phone=phone))
            return {OUTCOME: "rate_limited"}
        dispatcher.utter_message(text=NOT_CONFIRMED.format(phone=phone))
        return {OUTCOME: "not_confirmed"}


class AskIdentityFamilyName(Action):
    """The first question off the phone channels: why, then the last name."""

    def name(self) -> str:
        return "action_ask_identity_family_name"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=f"{WHY} {ASK_FAMILY}")
        return []


class AskIdentityGivenName(Action):
    def name(self) -> str:
        return "action_ask_identity_given_name"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=ASK_GIVEN)
        return []


class AskIdentityBirthDate(Action):
    """The birth date; on SMS and WhatsApp it is the first question, so it says why."""

    def name(self) -> str:
        return "action_ask_identity_birth_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        first = tracker.get_slot(FAMILY) is None
        dispatcher.utter_message(text=f"{WHY} {ASK_BIRTH_DATE}" if first else ASK_BIRTH_DATE)
        return []


class AskIdentityChoice(Action):
    """Initials only, never the full names of the others on the phone."""

    def name(self) -> str:
        return "action_ask_identity_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        options = tracker.get_slot(OPTIONS) or []
        lines = "\n".join(f"{n}. {initials}" for n, initials in enumerate(options, start=1))
        buttons = [
            {"title": f"{n}. {initials}", "payload": str(n)}
            for n, initials in enumerate(options, start=1)
        ]
        dispatcher.utter_message(text=f"{CHOOSE}\n{lines}", buttons=buttons)
        return []


class AskIdentityCode(Action):
    def name(self) -> str:
        return "action_ask_identity_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=ASK_CODE)
        return []


class ActionIdentityDone(_IdentityBackend, Action):
    """After the form: on success, carry on with what the patient first asked for.

    The backend is asked again rather than trusting the slots, so a form that ended without a
    verification never sends the patient round the loop again.
    """

    def name(self) -> str:
        return "action_identity_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        outcome = tracker.get_slot(OUTCOME)
        cleared: list[EventType] = [SlotSet(slot, None) for slot in IDENTITY_SLOTS]
        if outcome not in (None, "verified"):
            return [*cleared, SlotSet(PENDING_ACTION_SLOT, None)]  # already explained
        try:
            status = await self.backend().identity("status", {"conversation_id": tracker.sender_id})
        except BackendUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE.format(phone=await self.clinic_phone()))
            return [*cleared, SlotSet(PENDING_ACTION_SLOT, None)]
        if status["verified"]:
            resumed = resume_pending(tracker)
            if not resumed and outcome is None:
                dispatcher.utter_message(text=ALREADY_CONFIRMED)
            elif not resumed:
                dispatcher.utter_message(response="utter_how_can_i_help")
            return [*cleared, *resumed]
        phone = await self.clinic_phone()
        if status["locked"]:
            dispatcher.utter_message(text=LOCKED.format(minutes=15, phone=phone))
        else:
            dispatcher.utter_message(text=NOT_CONFIRMED.format(phone=phone))
        return [*cleared, SlotSet(PENDING_ACTION_SLOT, None)]


class ActionIdentityLogout(_IdentityBackend, Action):
    """ "Log out" / "forget me": the backend ends the verification, and the slots are wiped
    (whatever they held about the patient)."""

    def name(self) -> str:
        return "action_identity_logout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            await self.backend().identity("end", {"conversation_id": tracker.sender_id})
        except BackendUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE.format(phone=await self.clinic_phone()))
            return []
        dispatcher.utter_message(text=LOGGED_OUT)
        return [AllSlotsReset()]
