"""The hand-off state machine: one transition table, one function that reads it.

A conversation is with the assistant (`bot`) until something escalates it; then it waits in the
clinicians' queue (`waiting`), is held by one clinician (`with_clinician`), and ends `resolved`,
from where it is handed back to the assistant (`bot`). A held conversation can be transferred
to another clinician or released back to the queue.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a hand-off stands."""

    BOT = "bot"
    WAITING = "waiting"
    WITH_CLINICIAN = "with_clinician"
    RESOLVED = "resolved"


class Action(StrEnum):
    """What can happen to a hand-off."""

    OPEN = "open"
    CLAIM = "claim"
    TRANSFER = "transfer"
    RELEASE = "release"
    RESOLVE = "resolve"
    HAND_BACK = "hand_back"


class Reason(StrEnum):
    """Why a conversation was escalated (stable names: the action server sends them)."""

    EMERGENCY = "emergency"
    URGENT_TRIAGE = "urgent_triage"
    CRITICAL_RESULT = "critical_result"
    PATIENT_REQUEST = "patient_request"
    NOT_UNDERSTOOD = "not_understood"
    CLINICAL_QUESTION = "clinical_question"
    CLINICIAN_INITIATED = "clinician_initiated"
    # Repeated identity checks against one patient from elsewhere (backend/identity/target_watch)
    IDENTITY_ALERT = "identity_alert"


class Priority(StrEnum):
    """How soon a clinician must look; the queue sorts by `PRIORITY_RANK` first."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


PRIORITY_RANK: dict[Priority, int] = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}

# The priority a reason gets when the caller does not say.
DEFAULT_PRIORITY: dict[Reason, Priority] = {
    Reason.EMERGENCY: Priority.URGENT,
    Reason.CRITICAL_RESULT: Priority.URGENT,
    Reason.URGENT_TRIAGE: Priority.HIGH,
    Reason.PATIENT_REQUEST: Priority.NORMAL,
    Reason.NOT_UNDERSTOOD: Priority.NORMAL,
    Reason.CLINICAL_QUESTION: Priority.NORMAL,
    Reason.CLINICIAN_INITIATED: Priority.NORMAL,
    Reason.IDENTITY_ALERT: Priority.HIGH,
}

# The one transition table: (from, action) -> to. Anything not listed is forbidden.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.BOT, Action.OPEN): State.WAITING,
    (State.WAITING, Action.CLAIM): State.WITH_CLINICIAN,
    (State.WITH_CLINICIAN, Action.TRANSFER): State.WITH_CLINICIAN,
    (State.WITH_CLINICIAN, Action.RELEASE): State.WAITING,
    (State.WITH_CLINICIAN, Action.RESOLVE): State.RESOLVED,
    (State.RESOLVED, Action.HAND_BACK): State.BOT,
}

# A conversation in one of these states is not the assistant's: Rasa is paused, and patient
# messages go to the console.
ACTIVE_STATES: frozenset[State] = frozenset({State.WAITING, State.WITH_CLINICIAN})


class InvalidTransition(Exception):
    """`action` is not allowed from `state`; reload the hand-off and offer what is allowed."""

    def __init__(self, state: State, action: Action, handoff_id: int | None = None) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == state)
        super().__init__(
            f"cannot {action.value} a hand-off that is {state.value}"
            f" (allowed: {', '.join(allowed) or 'nothing'})"
        )
        self.state = state
        self.action = action
        self.handoff_id = handoff_id
        self.allowed = allowed


def next_state(state: State, action: Action, *, handoff_id: int | None = None) -> State:
    """The state `action` leads to from `state`, or `InvalidTransition`."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action, handoff_id) from None
