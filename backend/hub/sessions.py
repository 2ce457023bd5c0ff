"""Where Rasa sessions begin and end.

Rasa 3.6 replays the whole current session on every prediction, so a conversation that
lasts months must not be one session. Two things end a session:
- inactivity: Rasa's own `session_expiration_time` (domain.yml), mirrored here so the hub's
  turn count restarts with it;
- length: once a session holds more than SESSION_MAX_TURNS patient messages, the hub starts
  a new one before the next message, but only while no form is active, so a booking or a
  triage in progress is never cut. Slots carry over (domain.yml), and verified identity has
  its own expiry in the backend, so nothing the patient gave is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

RASA_SESSION_EXPIRY = timedelta(minutes=60)  # keep equal to domain.yml session_expiration_time


def turns_after_message(previous_turns: int, last_message_at: datetime, now: datetime) -> int:
    """The session's patient-message count once a new message arrives."""
    if now - last_message_at >= RASA_SESSION_EXPIRY:
        return 1  # Rasa starts a new session by itself on this message
    return previous_turns + 1


def wants_new_session(turns: int, max_turns: int) -> bool:
    """True when the session is long enough to be closed at the next idle point."""
    return turns > max_turns
