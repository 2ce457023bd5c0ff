"""When the engine cannot ask: how far unanswered questions raise the level.

Each active protocol looks at the rules that could still fire (red flags and its own rules)
and asks: could *my own unanswered questions* make this rule fire? If so, the level rises
to that rule's level, capped at the question's ``unanswered_up_to`` or else the protocol's
``unanswered.up_to``. Unknowns that no unanswered question of the protocol asks about
count as absent, so a sore throat is not raised because chest pain was never mentioned.

When the patient's words are reassuring (the finding ``reassuring`` is present, such as
"mild" or "otherwise well", or the text denies one of the protocol's warning signs), the
cap is ``unanswered.reassured_up_to`` where the protocol sets one. A question's own
``unanswered_up_to`` (such as an unknown infant age) is never lowered by reassurance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .conditions import State
from .extraction.pipeline import REASSURING
from .extraction.types import ABSENT, PRESENT
from .levels import LEVELS, Level
from .model import Protocol, Rule
from .state import TriageState

# Reassurance about the whole person, not one finding: "otherwise well", "nothing else".
GLOBAL_WORDS = {"otherwise", "other", "else"}


@dataclass(frozen=True)
class OpenState:
    """``state`` with only the ``open`` leaves left unknown; other unknowns count as absent.

    An unknown fact that is not open reads as NaN, so every comparison with it is false.
    """

    state: State
    open: frozenset[str]

    def finding(self, finding_id: str) -> bool | None:
        """The finding's value; a closed unknown is False."""
        value = self.state.finding(finding_id)
        if value is None and f"finding:{finding_id}" not in self.open:
            return False
        return value

    def fact(self, fact_id: str) -> float | str | None:
        """The fact's value; a closed unknown is NaN."""
        value = self.state.fact(fact_id)
        if value is None and f"fact:{fact_id}" not in self.open:
            return math.nan
        return value


def is_reassured(state: TriageState, protocol: Protocol) -> bool:
    """True when the text calls *this protocol's* complaint mild or denies one of its signs.

    A reassuring word counts only for the findings in its own clause: in "my back hurts a
    bit, but my husband says I've been confused all day", "a bit" is about the back pain
    and must not lower what the confusion calls for.
    """
    if _reassurance_reaches(state, protocol):
        return True
    asked = {q.finding for q in protocol.questions if q.finding}
    return any(
        m.status == ABSENT and m.id in asked and m.source != "answer" for m in state.mentions
    )


def _reassurance_reaches(state: TriageState, protocol: Protocol) -> bool:
    """A reassuring mention is about a present trigger finding of ``protocol``.

    Extraction aims each reassuring mention at the clause it is about (its ``clause``).
    Words about everything else ("otherwise well", "no other symptoms") and reassurance
    given as an answer (no clause) count for every protocol, as before.
    """
    if not state.finding(REASSURING):
        return False
    reassuring = [m for m in state.mentions if m.id == REASSURING and m.status == PRESENT]
    if any(m.clause < 0 or GLOBAL_WORDS & set(m.text.lower().split()) for m in reassuring):
        return True
    triggers = protocol.triggers.finding_ids()
    about = {m.clause for m in reassuring}
    return any(
        m.clause in about and m.id in triggers and m.status == PRESENT for m in state.mentions
    )


def question_caps(state: TriageState, protocol: Protocol) -> dict[str, Level]:
    """Unanswered, still unknown question targets of ``protocol`` and how far each may lift."""
    reassured_cap = protocol.unanswered.reassured_up_to
    reassured = reassured_cap is not None and is_reassured(state, protocol)
    caps: dict[str, Level] = {}
    for question in protocol.questions:
        if question.id in state.answered:
            continue
        known = (
            state.finding(question.finding) if question.finding else state.fact(str(question.fact))
        )
        if known is not None:
            continue
        cap = question.up_to or protocol.unanswered.up_to
        if question.up_to is None and reassured and reassured_cap is not None:
            cap = min(cap, reassured_cap, key=lambda level: level.rank)
        previous = caps.get(question.target)
        if previous is None or cap.rank > previous.rank:
            caps[question.target] = cap
    return caps


def lift_level(
    state: TriageState, protocol: Protocol, candidates: list[Rule], floor: Level | None
) -> Level | None:
    """The most urgent level above ``floor`` that the protocol's unanswered questions reach.

    For each still-possible rule, try levels from the most urgent down: open the questions
    whose cap allows that level; if the rule could then fire, the lift reaches
    ``min(level, rule level)``. Returns None when nothing lifts.
    """
    caps = question_caps(state, protocol)
    if not caps:
        return None
    best = floor.rank if floor else -1
    result: Level | None = None
    for rule in candidates:
        if rule.then.rank <= best or rule.when.evaluate(state) is not None:
            continue
        for level in LEVELS:  # most urgent first
            if level.rank > rule.then.rank:
                continue
            if level.rank <= best:
                break
            opened = frozenset(t for t, cap in caps.items() if cap.rank >= level.rank)
            if opened and rule.when.evaluate(OpenState(state, opened)) is not False:
                best, result = level.rank, level
                break
    return result
