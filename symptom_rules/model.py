"""The loaded rule data: rules, questions, complaint protocols and the whole rule set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .conditions import Condition
from .levels import Level
from .vocabulary import Vocabulary


@dataclass(frozen=True)
class Rule:
    """A reviewed rule: when ``when`` holds, the patient needs at least level ``then``.

    ``explain`` is the patient-facing reason (never a diagnosis); ``notify`` names extra
    safety-net lines (``crisis``, ``poison``). Protocol rules apply only while their
    protocol is active (its triggers hold).
    """

    id: str
    description: str
    rationale: str
    source: str
    explain: str
    when: Condition
    then: Level
    notify: tuple[str, ...] = ()
    protocol: str | None = None
    path: Path | None = None
    line: int = 0


@dataclass(frozen=True)
class Question:
    """A follow-up question that settles one finding or one fact.

    ``up_to`` overrides the protocol's unanswered cap for this question: how far the level
    may rise when the question cannot be asked (higher for an unknown infant age, lower for
    rare risk factors a patient would mention).
    """

    id: str
    text: str
    finding: str | None = None
    fact: str | None = None
    up_to: Level | None = None

    @property
    def target(self) -> str:
        """The condition leaf this question settles (``finding:x`` or ``fact:y``)."""
        return f"finding:{self.finding}" if self.finding else f"fact:{self.fact}"

    @property
    def answers(self) -> tuple[str, ...]:
        """Suggested answers; free text is always accepted too."""
        return ("yes", "no", "not sure") if self.finding else ()


@dataclass(frozen=True)
class Unanswered:
    """What a protocol does when it cannot ask: go up to ``up_to`` while danger is possible.

    ``reassured_up_to`` (when set) is the cap instead when the patient's own words are
    reassuring: the complaint is called mild or minor, or a warning sign is denied.
    """

    id: str
    up_to: Level
    rationale: str
    reassured_up_to: Level | None = None


@dataclass(frozen=True)
class Protocol:
    """A complaint protocol: when it applies, its questions (most decisive first) and rules."""

    id: str
    complaint: str
    description: str
    source: str
    triggers: Condition
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    unanswered: Unanswered
    path: Path | None = None


@dataclass(frozen=True)
class RuleSet:
    """Everything the engine decides with: vocabulary, red flags and protocols."""

    vocabulary: Vocabulary
    red_flags: tuple[Rule, ...]
    protocols: tuple[Protocol, ...]
    rules_by_id: dict[str, Rule] = field(default_factory=dict)

    def all_rule_ids(self) -> list[str]:
        """Every id a case file must exist for: rules and unanswered policies."""
        ids = [r.id for r in self.red_flags]
        for protocol in self.protocols:
            ids.extend(r.id for r in protocol.rules)
            ids.append(protocol.unanswered.id)
        return ids

    def red_flag_findings(self) -> frozenset[str]:
        """Findings a red flag names, and every finding that implies one of them."""
        named = {finding for rule in self.red_flags for finding in rule.when.finding_ids()}
        findings = self.vocabulary.findings
        while True:
            more = {f.id for f in findings.values() if named & set(f.implies)} - named
            if not more:
                return frozenset(named)
            named |= more
