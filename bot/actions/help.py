"""Help when the assistant did not understand, and the clinic's contact details."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendUnavailable, UsesBackend

OFFER_PERSON_BUTTONS = [
    {"title": "Yes, a person please", "payload": "/affirm"},
    {"title": "No thanks", "payload": "/deny"},
]


class ActionOfferHelp(Action):
    """Says what the assistant can do and offers a person (the NLU fallback)."""

    def name(self) -> str:
        return "action_offer_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=(
                "Sorry, I didn't understand that. I can help you book, change or cancel "
                "appointments, check how urgently you should be seen for a symptom, tell you "
                "about test results and request prescription refills. "
                "Would you like to talk to a person instead?"
            ),
            buttons=OFFER_PERSON_BUTTONS,
        )
        return []


class ActionContactClinic(UsesBackend, Action):
    """Gives the clinic's contact details so the patient can reach a person."""

    def name(self) -> str:
        return "action_contact_clinic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            clinic = await self.backend().clinic_contact()
        except BackendUnavailable:
            dispatcher.utter_message(
                text=(
                    "I can't look up the clinic's contact details right now. Please call the "
                    "number on your appointment letter. If this is an emergency, call your "
                    "local emergency number now."
                )
            )
            return []
        dispatcher.utter_message(
            text=(
                f"You can reach the care team at {clinic['name']} on {clinic['phone']} "
                f"({clinic['hours']}). If this is an emergency, call "
                f"{clinic['emergency_number']} now."
            )
        )
        return []
