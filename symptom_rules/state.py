"""The triage state: what is known from the text, the caller and the answers so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import news2
from .answers import NO, UNSURE, YES, normalise_answer
from .extraction import numbers
from .extraction.pipeline import MEDICINE_REASON, Extractor
from .extraction.types import ABSENT, PRESENT, Extraction, Finding
from .model import Question

FREE_TEXT_QUESTION = "q_main_symptom"


@dataclass
class TriageState:
    """Findings (True present / False absent) and facts, with where each came from.

    Implements the ``State`` protocol that rule conditions are evaluated against.
    """

    findings: dict[str, bool] = field(default_factory=dict)
    facts: dict[str, float | str] = field(default_factory=dict)
    mentions: list[Finding] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    unsure: set[str] = field(default_factory=set)
    about_other: bool = False

    def finding(self, finding_id: str) -> bool | None:
        """True present, False absent, None unknown."""
        return self.findings.get(finding_id)

    def fact(self, fact_id: str) -> float | str | None:
        """The fact's value, or None when unknown."""
        return self.facts.get(fact_id)

    def is_blank(self) -> bool:
        """True when nothing at all is known: no finding, fact, mention, answer or subject."""
        return not (
            self.findings
            or self.facts
            or self.mentions
            or self.answered
            or self.unsure
            or self.about_other
        )

    def present(self) -> tuple[str, ...]:
        """Ids of present findings, in order of mention."""
        order = dict.fromkeys(f.id for f in self.mentions)
        order.update(dict.fromkeys(self.findings))
        return tuple(fid for fid in order if self.findings.get(fid))

    def add_extraction(self, extraction: Extraction, *, override: bool = False) -> None:
        """Merge what was read from a text; present wins over absent unless ``override``."""
        self.mentions.extend(extraction.findings)
        for finding_id, said in extraction.states().items():
            if override or finding_id not in self.findings or said:
                self.findings[finding_id] = said
        for name, value in extraction.facts.items():
            self.facts.setdefault(name, value)
        self.about_other = self.about_other or extraction.about_other


def build_state(
    extractor: Extractor,
    text: str,
    *,
    answers: Mapping[str, str] | None,
    questions: Mapping[str, Question],
    age_years: float | None,
    sex: str | None,
    pregnant: bool | None,
) -> TriageState:
    """Read the text, apply what the caller knows, then the answers given so far.

    Facts stated in the text (``my 3 month old``) win over the caller's, since the text may
    be about someone else. Unclear answers count as *unsure*, which rules treat as yes:
    when in doubt, the safer level.
    """
    state = TriageState()
    state.add_extraction(extractor.extract(text))
    if age_years is not None:
        state.facts.setdefault("age_years", float(age_years))
    if sex:
        state.facts.setdefault("sex", sex.strip().lower())
    if pregnant is not None and "pregnant" not in state.findings:
        state.findings["pregnant"] = bool(pregnant)
    if state.facts.get("sex") == "male" and not state.about_other:
        state.findings.setdefault("pregnant", False)
    for question_id, raw in (answers or {}).items():
        if question_id == FREE_TEXT_QUESTION:
            state.add_extraction(extractor.extract(raw))
            state.answered.add(question_id)
            continue
        question = questions.get(question_id)
        if question is None:
            continue
        state.answered.add(question_id)
        apply_answer(state, extractor, question, raw)
    _measured_beats_medicine_reason(state)
    scored = news2.score(state.facts, state.finding)
    if scored is not None:
        state.facts["news2_score"], state.facts["news2_single_max"] = map(float, scored)
    return state


INFANT_YEARS = 0.25


def _measured_beats_medicine_reason(state: TriageState) -> None:
    """A measured normal temperature ("afebrile", "temp 36.8") beats a fever named only as
    the reason for a medicine ("paracetamol for fever"): fever then counts as denied.

    Not under 3 months: NICE NG143 counts a parent's report of fever in a young infant,
    and the medicine may have brought the reading down.
    """
    if not state.findings.get("fever"):
        return
    age = state.facts.get("age_years")
    if isinstance(age, float) and age < INFANT_YEARS:
        return
    temperature = state.facts.get("temperature_c")
    measured = (isinstance(temperature, float) and temperature < 37.5) or state.findings.get(
        "afebrile"
    )
    fevers = [m for m in state.mentions if m.id == "fever" and m.status == PRESENT]
    if measured and fevers and all(m.source == MEDICINE_REASON for m in fevers):
        state.findings["fever"] = False


def apply_answer(state: TriageState, extractor: Extractor, question: Question, raw: str) -> None:
    """Record one answer: yes/no/unsure for a finding, a number for a fact."""
    extraction = extractor.extract(raw)
    if question.fact is not None:
        value = _fact_answer(question.fact, raw, extraction)
        if value is not None:
            state.facts[question.fact] = value
        state.add_extraction(extraction)
        return
    finding_id = str(question.finding)
    verdict = normalise_answer(raw)
    if verdict is None:
        said = extraction.states().get(finding_id)
        verdict = YES if said else NO if said is False else UNSURE
    state.add_extraction(extraction)
    state.findings[finding_id] = verdict in (YES, UNSURE)
    if verdict == UNSURE:
        state.unsure.add(finding_id)
    status = PRESENT if verdict != NO else ABSENT
    state.mentions.append(Finding(finding_id, raw, status, verdict == UNSURE, source="answer"))


def _fact_answer(fact: str, raw: str, extraction: Extraction) -> float | str | None:
    if fact in extraction.facts:
        return extraction.facts[fact]
    text = raw.strip().lower()
    if fact == "age_years":
        value = numbers.age_years(text + " old")
        if value is None and text[:1].isdigit():
            value = numbers.age_years(text.split()[0] + " years old")
        return value
    if fact == "temperature_c":
        return numbers.temperature_c("temperature " + text)
    if fact == "duration_days":
        return numbers.duration_days("for " + text)
    if fact == "sex":
        return {"f": "female", "m": "male"}.get(text[:1])
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None
