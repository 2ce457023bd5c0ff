"""Tracker fixtures for the custom actions: named conversation states (STYLE.md, 10)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def make_tracker(
    *,
    sender: str = "conv-test",
    text: str = "",
    intent: str = "",
    slots: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest message is `text`, classified as `intent`."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    return Tracker(sender, slots or {}, latest, [], False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def unclear_message() -> Tracker:
    return make_tracker(text="blorp wibble", intent="nlu_fallback")


@pytest.fixture
def patient_accepts_a_person() -> Tracker:
    return make_tracker(text="yes please", intent="affirm")
