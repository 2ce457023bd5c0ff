"""Escalation to the clinicians' queue: a patient asking for a person, a clinical question
the assistant must not answer, or the assistant failing to understand twice in a row.

Each action asks the backend to open the hand-off, tells the patient honestly what happens
next (place in the queue and the usual wait, or what to do out of hours), and pauses the
conversation: the hub keeps the patient's messages for the clinician and resumes Rasa when the
clinician hands the conversation back.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendUnavailable, HandoffOpened, UsesBackend

QUEUE_UNREACHABLE = (
    "I couldn't reach the care team's queue just now. Please call the clinic on the number "
    "on your appointment letter. If this is an emergency, call your local emergency number now."
)


def what_happens_next(opened: HandoffOpened) -> str:
    """The honest answer: who will reply, when, and what to do instead if it cannot wait."""
    emergency = opened["emergency_number"]
    if not opened["clinic_open"]:
        return (
            f"The care team is not in right now (opening hours: {opened['clinic_hours']}). "
            "I've passed this conversation to them and a clinician will reply here when they "
            f"are next in. If it can't wait, call the clinic's line on {opened['clinic_phone']}, "
            f"and if this is an emergency call {emergency} now."
        )
    ahead = max(0, opened["queue_position"] - 1)
    place = (
        "You're next in the queue"
        if ahead == 0
        else f"There {'is 1 person' if ahead == 1 else f'are {ahead} people'} ahead of you"
    )
    return (
        "I've asked the care team to take over this conversation. "
        f"{place}, and a clinician usually replies within about "
        f"{opened['expected_wait_minutes']} minutes, right here. You can keep writing: they "
        f"will see everything. If things get worse while you wait, call {emergency}."
    )


class _Escalation(UsesBackend):
    """Open a hand-off for `reason`, say `preface` and what happens next, then pause.

    A mixin, not an `Action`: rasa_sdk registers every subclass of Action it finds, and this
    one has no name of its own.
    """

    reason = ""
    preface = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            opened = await self.backend().open_handoff(
                conversation_id=tracker.sender_id, reason=self.reason
            )
        except BackendUnavailable:
            dispatcher.utter_message(text=QUEUE_UNREACHABLE)
            return []  # not paused: nobody would pick the conversation up
        text = what_happens_next(opened)
        dispatcher.utter_message(text=f"{self.preface} {text}" if self.preface else text)
        return [ConversationPaused()]


class ActionRequestHuman(_Escalation, Action):
    """The patient asked for a person ("talk to a nurse", "human please")."""

    reason = "patient_request"

    def name(self) -> str:
        return "action_request_human"


class ActionEscalateClinicalQuestion(_Escalation, Action):
    """A question only a clinician may answer (doses, diagnoses): never answered by the bot."""

    reason = "clinical_question"
    preface = "That's a question for a clinician, so I won't try to answer it myself."

    def name(self) -> str:
        return "action_escalate_clinical_question"


class ActionEscalateNotUnderstood(_Escalation, Action):
    """The assistant failed to understand twice in a row: a person takes over."""

    reason = "not_understood"
    preface = "I'm sorry, I still didn't understand, so I'm getting a person to help."

    def name(self) -> str:
        return "action_escalate_not_understood"
