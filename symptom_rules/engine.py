"""The triage engine: a pure function from text (and answers) to a decision.

``screen`` applies only the red-flag rules and never asks; ``triage`` runs the complaint
protocols too, asks the next most decisive question while danger is still possible, and
otherwise gives a disposition. Both return the ids of the rules that decided.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from . import explain
from .config import EngineConfig
from .extraction.context_rules import load_modifiers
from .extraction.frames import load_frames
from .extraction.pipeline import Extractor
from .extraction.types import Finding
from .levels import Level, most_urgent
from .lift import lift_level
from .loader import load_rule_set
from .model import Protocol, Question, Rule, RuleSet
from .state import FREE_TEXT_QUESTION, TriageState, build_state

GENERAL_PROTOCOL = "P-GENERAL"
WATCH_FOR_MAX = 6
DESCRIBE = Question(
    FREE_TEXT_QUESTION,
    "Could you tell me a little more about the main symptom: what it is, where it is and "
    "how long it has been going on?",
)


@dataclass(frozen=True)
class NextQuestion:
    """The question to ask next; ``answers`` are suggestions, free text is fine too."""

    id: str
    text: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Screening:
    """The red-flag screen of one message. ``level`` is None when no red flag fired."""

    level: Level | None
    rule_ids: tuple[str, ...]
    findings: tuple[Finding, ...]
    explanation: str
    safety_net: str
    advice: str = ""  # no red flag, but a question about suicide or poisoning: where to turn

    @property
    def is_emergency(self) -> bool:
        """True when the message needs emergency care now."""
        return self.level is not None and self.level.is_emergency


@dataclass(frozen=True)
class TriageResult:
    """A triage decision: either ``next_question`` or a ``disposition`` (never both)."""

    findings: tuple[Finding, ...]
    present: tuple[str, ...]
    facts: Mapping[str, float | str]
    next_question: NextQuestion | None
    disposition: Level | None
    rule_ids: tuple[str, ...]
    protocols: tuple[str, ...]
    explanation: str
    safety_net: str

    @property
    def level(self) -> Level | None:
        """Same as ``disposition``."""
        return self.disposition

    @property
    def is_emergency(self) -> bool:
        """True when the disposition is one of the two emergency levels."""
        return self.disposition is not None and self.disposition.is_emergency


class Engine:
    """Rules, vocabulary and the extraction pipeline, loaded once."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.rules: RuleSet = load_rule_set(self.config.data_dir)
        self.extractor = Extractor(
            self.rules.vocabulary,
            load_modifiers(self.config.data_dir / "context.yaml"),
            alarm_findings=self.rules.red_flag_findings(),
            frames=load_frames(self.config.data_dir / "frames.yaml", self.rules.vocabulary),
        )
        self.questions: dict[str, Question] = {
            q.id: q for p in self.rules.protocols for q in p.questions
        }
        self.general = next((p for p in self.rules.protocols if p.id == GENERAL_PROTOCOL), None)

    def screen(self, text: str, *, age_years: float | None = None) -> Screening:
        """Apply the red-flag rules to one message (runs on every patient message)."""
        state = build_state(
            self.extractor,
            text,
            answers=None,
            questions={},
            age_years=age_years,
            sex=None,
            pregnant=None,
        )
        if state.is_blank():
            return self._nothing_read
        return self._screen_state(state)

    @functools.cached_property
    def _nothing_read(self) -> Screening:
        """The screen of a message in which nothing clinical was read ("thanks", "ok"), which
        is most messages. The rules depend only on the state, so this is worked out once."""
        return self._screen_state(TriageState())

    def _screen_state(self, state: TriageState) -> Screening:
        fired = [r for r in self.rules.red_flags if r.when.evaluate(state) is True]
        level = most_urgent([r.then for r in fired])
        reason = explain.explanation(level, fired, self.config, lifted=False) if level else ""
        return Screening(
            level=level,
            rule_ids=tuple(r.id for r in _deciding(fired, level)),
            findings=tuple(state.mentions),
            explanation=reason,
            safety_net=explain.safety_net(level, fired, self.config) if level else "",
            advice="" if level else explain.topic_advice(state.mentions, self.config),
        )

    def triage(
        self,
        text: str,
        *,
        answers: Mapping[str, str] | None = None,
        age_years: float | None = None,
        sex: str | None = None,
        pregnant: bool | None = None,
        ask: bool = True,
    ) -> TriageResult:
        """Triage ``text`` given the ``answers`` so far (question id to the patient's words).

        With ``ask=False`` (evaluation, or when the patient cannot answer) it never asks:
        where a more urgent rule is still possible, each active protocol's unanswered policy
        raises the level as far as its ``up_to``.
        """
        state = build_state(
            self.extractor,
            text,
            answers=answers,
            questions=self.questions,
            age_years=age_years,
            sex=sex,
            pregnant=pregnant,
        )
        protocols = [p for p in self.rules.protocols if p.triggers.evaluate(state) is True]
        candidates = list(self.rules.red_flags) + [r for p in protocols for r in p.rules]
        fired = [r for r in candidates if r.when.evaluate(state) is True]
        level = most_urgent([r.then for r in fired])
        deciding = _deciding(fired, level)
        question: Question | None = None
        if not protocols and not fired:
            if ask and FREE_TEXT_QUESTION not in state.answered:
                question = DESCRIBE
            elif self.general is not None:
                protocols = [self.general]
        elif level is None or not level.is_emergency:
            question = self._next_question(state, protocols, level) if ask else None
        lifted = False
        if question is None:
            level, lift_ids = self._unanswered(state, protocols, level)
            lifted = bool(lift_ids)
            deciding_ids = [r.id for r in _deciding(fired, level)] + lift_ids
        if question is not None:
            return TriageResult(
                tuple(state.mentions),
                state.present(),
                dict(state.facts),
                NextQuestion(question.id, question.text, question.answers),
                None,
                tuple(r.id for r in deciding),
                tuple(p.id for p in protocols),
                question.text,
                explain.safety_net(None, fired, self.config),
            )
        final = level or Level.CONSULTATION
        watch = [] if final.is_emergency else self._watch_for(state, protocols, final)
        return TriageResult(
            tuple(state.mentions),
            state.present(),
            dict(state.facts),
            None,
            final,
            tuple(dict.fromkeys(deciding_ids)),
            tuple(p.id for p in protocols),
            explain.explanation(final, fired, self.config, lifted=lifted),
            explain.safety_net(final, fired, self.config, watch_for=watch),
        )

    def _pending(
        self, state: TriageState, protocols: list[Protocol], level: Level | None
    ) -> list[tuple[Protocol | None, Rule]]:
        """Rules still possible (unknown) that would raise the level."""
        floor = level.rank if level else -1
        pending: list[tuple[Protocol | None, Rule]] = [
            (None, r)
            for r in self.rules.red_flags
            if r.then.rank > floor and r.when.evaluate(state) is None
        ]
        pending.extend(
            (p, r)
            for p in protocols
            for r in p.rules
            if r.then.rank > floor and r.when.evaluate(state) is None
        )
        return pending

    def _next_question(
        self, state: TriageState, protocols: list[Protocol], level: Level | None
    ) -> Question | None:
        """The first unanswered protocol question that could settle a more urgent rule."""
        pending = self._pending(state, protocols, level)
        targets = {u for _, r in pending for u in r.when.unknowns(state)}
        for protocol in sorted(protocols, key=lambda p: -_top_rank(p)):
            for question in protocol.questions:
                if question.id not in state.answered and question.target in targets:
                    return question
        return None

    def _unanswered(
        self, state: TriageState, protocols: list[Protocol], level: Level | None
    ) -> tuple[Level | None, list[str]]:
        """Raise the level where the unasked questions could still reveal danger (``lift``).

        With nothing recognised at all, the general protocol's ``up_to`` applies.
        """
        lift_ids: list[str] = []
        for protocol in protocols:
            candidates = list(self.rules.red_flags) + list(protocol.rules)
            target = lift_level(state, protocol, candidates, level)
            if protocol is self.general and level is None and target is None:
                target = protocol.unanswered.up_to
            if target is None:
                continue
            if level is None or target.rank > level.rank:
                level = target
                lift_ids = [protocol.unanswered.id]
            elif target == level and lift_ids:
                lift_ids.append(protocol.unanswered.id)
        return level, lift_ids

    def _watch_for(self, state: TriageState, protocols: list[Protocol], level: Level) -> list[str]:
        """Labels of unasked warning signs that would raise the level (for the safety net)."""
        labels: list[str] = []
        for protocol in protocols:
            higher = [
                r
                for r in (*self.rules.red_flags, *protocol.rules)
                if r.then.rank > level.rank and r.when.evaluate(state) is None
            ]
            names = {name for r in higher for name in r.when.names()}
            unasked = [
                q.finding
                for q in protocol.questions
                if q.finding and state.finding(q.finding) is None
            ]
            labels.extend(
                self.rules.vocabulary.findings[f].label for f in unasked if f"finding:{f}" in names
            )
        return list(dict.fromkeys(labels))[:WATCH_FOR_MAX]


def _deciding(fired: list[Rule], level: Level | None) -> list[Rule]:
    """The fired rules at the final level first, then the others (all are reported)."""
    return sorted(fired, key=lambda r: (r.then != level, -r.then.rank))


def _top_rank(protocol: Protocol) -> int:
    return max((r.then.rank for r in protocol.rules), default=0)


@functools.lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine with the default configuration, built on first use and then reused."""
    return Engine()
