"""Lab results in the dialogue: the backend decides what may be said, the action says it.

Which results, their wording, whether values may go to this channel and what happens with a
critical result are all decided by `GET /internal/records/results`; this action only relays
the messages, or hands over to identity verification first.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import (
    BackendUnavailable,
    PatientAccessDenied,
    UsesBackend,
)
from bot.actions.identity_gate import ask_identity_first

RESULTS_UNAVAILABLE = (
    "I can't reach your results right now. Please try again in a few minutes, or call the "
    "clinic if you are waiting for something urgent."
)
NOT_IN_CARE = (
    "I can only share records of the person I've confirmed I'm talking to, or of a child in "
    "their care. Please call the clinic about anyone else's records."
)


def refused(
    action_name: str, denied: PatientAccessDenied, dispatcher: CollectingDispatcher
) -> list[EventType]:
    """Not verified yet: verify, then run the action again. Anything else: say why not."""
    if denied.code == "not_verified":
        return ask_identity_first(action_name)
    dispatcher.utter_message(text=NOT_IN_CARE)
    return []


class ActionCheckResults(UsesBackend, Action):
    """Tells the verified patient about their released results (intent `check_results`)."""

    def name(self) -> str:
        return "action_check_results"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            answer = await self.backend().lab_results(conversation_id=tracker.sender_id)
        except PatientAccessDenied as denied:
            return refused(self.name(), denied, dispatcher)
        except BackendUnavailable:
            dispatcher.utter_message(text=RESULTS_UNAVAILABLE)
            return []
        for message in answer["messages"]:
            dispatcher.utter_message(text=message)
        return []
