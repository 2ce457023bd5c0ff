"""How any action that needs patient data hands over to identity verification and back.

When the backend answers 403 "not_verified", the action returns `ask_identity_first(...)`:
the name of the action to run again afterwards is kept in the `pending_action` slot and the
identity form starts. When verification succeeds, the identity flow runs `resume_pending()`
so the patient gets what they first asked for without asking again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

PENDING_ACTION_SLOT = "pending_action"
IDENTITY_FORM = "identity_form"


def ask_identity_first(resume_action: str) -> list[EventType]:
    """Events that start verification and remember what to do once it succeeds."""
    return [SlotSet(PENDING_ACTION_SLOT, resume_action), FollowupAction(IDENTITY_FORM)]


def resume_pending(tracker: Tracker) -> list[EventType]:
    """Events that run the action that was waiting for verification (if any) and forget it."""
    pending: Any = tracker.get_slot(PENDING_ACTION_SLOT)
    if not isinstance(pending, str) or not pending:
        return []
    return [SlotSet(PENDING_ACTION_SLOT, None), FollowupAction(pending)]
