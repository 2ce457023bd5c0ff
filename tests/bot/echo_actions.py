"""One action that needs nothing but the tracker, for the action server's tests."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionEcho(Action):
    def name(self) -> str:
        return "action_test_echo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=f"echo: {tracker.latest_message.get('text')}")
        return []
