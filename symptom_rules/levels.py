"""The five levels of care, their order, and the coarse three-way grouping."""

from __future__ import annotations

from enum import Enum


class Level(str, Enum):
    """A disposition: where the patient should get care, from most to least urgent."""

    EMERGENCY_AMBULANCE = "emergency_ambulance"
    EMERGENCY = "emergency"
    CONSULTATION_24 = "consultation_24"
    CONSULTATION = "consultation"
    SELF_CARE = "self_care"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """Urgency rank: 4 for an ambulance, 0 for self care (higher is more urgent)."""
        return _RANK[self]

    @property
    def coarse(self) -> str:
        """The coarse group: ``emergent``, ``non_emergent`` or ``self_care``."""
        return _COARSE[self]

    @property
    def is_emergency(self) -> bool:
        """True for the two emergency levels."""
        return self in (Level.EMERGENCY_AMBULANCE, Level.EMERGENCY)

    @classmethod
    def parse(cls, value: str) -> Level:
        """Read a level name; raises ``ValueError`` naming the allowed values."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown level {value!r}; expected one of {allowed}") from None


LEVELS: tuple[Level, ...] = tuple(Level)
_RANK = {level: len(LEVELS) - 1 - i for i, level in enumerate(LEVELS)}
_COARSE = {
    Level.EMERGENCY_AMBULANCE: "emergent",
    Level.EMERGENCY: "emergent",
    Level.CONSULTATION_24: "non_emergent",
    Level.CONSULTATION: "non_emergent",
    Level.SELF_CARE: "self_care",
}
COARSE_LEVELS: tuple[str, ...] = ("emergent", "non_emergent", "self_care")


def most_urgent(levels: list[Level] | tuple[Level, ...]) -> Level | None:
    """The most urgent of ``levels``, or None when empty."""
    return max(levels, key=lambda level: level.rank) if levels else None
