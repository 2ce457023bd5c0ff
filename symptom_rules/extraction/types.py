"""What extraction hands to the engine: findings with their context, and facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PRESENT = "present"
ABSENT = "absent"
HISTORICAL = "historical"
HYPOTHETICAL = "hypothetical"
FAMILY_HISTORY = "family_history"


@dataclass(frozen=True)
class Finding:
    """One mention of a declared finding.

    ``status`` is ``present``, ``absent`` (denied), ``historical`` (in the past),
    ``hypothetical`` (asked about, not had) or ``family_history``; only present and absent
    findings count. ``uncertain`` marks hedged mentions ("maybe a fever"), which count as
    present. ``subject`` is ``other`` when the message is about someone else (still triaged).
    ``clause`` numbers the clause of the text the mention sits in (a new sentence or a
    "but" starts a new one; -1 when it did not come from the text), so that a reassuring
    word can be kept to the finding it is about.
    """

    id: str
    text: str
    status: str = PRESENT
    uncertain: bool = False
    subject: str = "self"
    source: str = "text"
    start: int = 0
    end: int = 0
    clause: int = -1


@dataclass(frozen=True)
class Extraction:
    """The findings and facts read from one text."""

    findings: tuple[Finding, ...] = ()
    facts: Mapping[str, float | str] = field(default_factory=dict)
    about_other: bool = False

    def states(self) -> dict[str, bool]:
        """Finding id to True (present) or False (denied); present wins over denied."""
        states: dict[str, bool] = {}
        for finding in self.findings:
            if finding.status == PRESENT:
                states[finding.id] = True
            elif finding.status == ABSENT:
                states.setdefault(finding.id, False)
        return states

    def present(self) -> tuple[str, ...]:
        """Ids of the findings present, in order of first mention."""
        states = self.states()
        return tuple(dict.fromkeys(f.id for f in self.findings if states.get(f.id)))
