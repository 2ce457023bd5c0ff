"""The hand-off transition table: every allowed move, and every move not in it is refused."""

from __future__ import annotations

import itertools

import pytest

from backend.handoff.states import (
    ACTIVE_STATES,
    DEFAULT_PRIORITY,
    TRANSITIONS,
    Action,
    InvalidTransition,
    Reason,
    State,
    next_state,
)

ALLOWED = [
    (State.BOT, Action.OPEN, State.WAITING),
    (State.WAITING, Action.CLAIM, State.WITH_CLINICIAN),
    (State.WITH_CLINICIAN, Action.TRANSFER, State.WITH_CLINICIAN),
    (State.WITH_CLINICIAN, Action.RELEASE, State.WAITING),
    (State.WITH_CLINICIAN, Action.RESOLVE, State.RESOLVED),
    (State.RESOLVED, Action.HAND_BACK, State.BOT),
]
FORBIDDEN = [
    (state, action)
    for state, action in itertools.product(State, Action)
    if (state, action) not in TRANSITIONS
]


def test_the_table_holds_exactly_the_documented_transitions() -> None:
    assert {(s, a): t for s, a, t in ALLOWED} == TRANSITIONS


@pytest.mark.parametrize(("state", "action", "target"), ALLOWED)
def test_each_allowed_transition_leads_to_its_state(
    state: State, action: Action, target: State
) -> None:
    assert next_state(state, action) is target


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
def test_each_forbidden_transition_raises_invalid_transition_with_its_fields(
    state: State, action: Action
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        next_state(state, action, handoff_id=7)
    error = caught.value
    assert (error.state, error.action, error.handoff_id) == (state, action, 7)
    assert error.allowed == sorted(a.value for (s, a) in TRANSITIONS if s == state)
    assert action.value in str(error) and state.value in str(error)


def test_claiming_a_claimed_or_resolved_handoff_is_forbidden() -> None:
    for state in (State.WITH_CLINICIAN, State.RESOLVED, State.BOT):
        with pytest.raises(InvalidTransition):
            next_state(state, Action.CLAIM)


def test_a_full_round_trip_returns_the_conversation_to_the_bot() -> None:
    state = State.BOT
    for action in (Action.OPEN, Action.CLAIM, Action.RELEASE, Action.CLAIM, Action.TRANSFER):
        state = next_state(state, action)
    assert state is State.WITH_CLINICIAN
    assert next_state(next_state(state, Action.RESOLVE), Action.HAND_BACK) is State.BOT


def test_only_waiting_and_held_conversations_are_kept_from_the_assistant() -> None:
    assert {State.WAITING, State.WITH_CLINICIAN} == ACTIVE_STATES


def test_every_reason_has_a_default_priority_and_emergencies_are_urgent() -> None:
    assert set(DEFAULT_PRIORITY) == set(Reason)
    assert DEFAULT_PRIORITY[Reason.EMERGENCY] == "urgent"
    assert DEFAULT_PRIORITY[Reason.CRITICAL_RESULT] == "urgent"
    assert DEFAULT_PRIORITY[Reason.PATIENT_REQUEST] == "normal"
