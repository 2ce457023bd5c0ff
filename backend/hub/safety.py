"""The red-flag screen the hub runs on every patient message, before the dialogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SafetyAlert:
    """An emergency found in a patient's message, with what to tell them and why.

    With ``emergency`` False it is advice only: no red flag fired, but the message asks
    about suicide or poisoning, so ``safety_net`` (where to turn) follows the assistant's
    answer and the dialogue goes on.
    """

    level: str
    rule_ids: tuple[str, ...]
    explanation: str
    safety_net: str
    emergency: bool = True


class SafetyScreen(Protocol):
    def __call__(self, text: str) -> SafetyAlert | None: ...
