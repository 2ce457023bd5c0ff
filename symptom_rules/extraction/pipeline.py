"""The spaCy pipeline: blank English, spelling-aware norms, a pattern matcher, medspaCy ConText.

No statistical model is used (none can be downloaded here): tokens get a normalised form
(``vomitting`` -> ``vomiting``, ``u`` -> ``you``), a pattern matcher finds the declared
finding phrases on that form (partly overlapping phrases are all kept; one inside a longer
match, or touching an ignored phrase, is dropped), and ConText marks each finding as
negated, historical, hypothetical, family history or about another person. Build it once
(``Extractor``); the engine does that lazily.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from ..terms import parse_term, words
from ..vocabulary import FindingDef, Vocabulary
from . import anchored_matcher, numbers, vitals
from .animals import about_an_animal
from .context_rules import ModifierDef
from .frames import DROP, Frames
from .frames import HYPOTHETICAL as HYPOTHETICAL_FRAME
from .patterns import compile_term
from .spelling import AlarmSpelling
from .tokenizer import NormalisingTokenizer
from .types import (
    ABSENT,
    FAMILY_HISTORY,
    HISTORICAL,
    HYPOTHETICAL,
    PRESENT,
    Extraction,
    Finding,
)

IGNORE = "IGNORE"
SPANS_KEY = "findings"
CONTEXT = "medspacy_context"
GAP_KIND = "gap"
STATUS_BY_CATEGORY = {
    "NEGATED_EXISTENCE": ABSENT,
    "HISTORICAL": HISTORICAL,
    "HYPOTHETICAL": HYPOTHETICAL,
    "FAMILY": FAMILY_HISTORY,
}
STATUS_PRIORITY = (HISTORICAL, FAMILY_HISTORY, HYPOTHETICAL, ABSENT)


def _quiet_medspacy_logging() -> None:
    """medspaCy imports PyRuSH, which logs at DEBUG through loguru; keep it quiet."""
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - loguru comes with medspacy
        return
    for name in ("PyRuSH", "medspacy", "quickumls"):
        logger.disable(name)


@Language.component("symptom_rules_overlaps")
def resolve_overlaps(doc: Doc) -> Doc:
    """Drop matches inside a longer exact match, findings touching an ignored phrase, and
    the ignored phrases themselves.

    Partly overlapping matches are both kept ("scratched my eye" and "eye ... is red"), and a
    loose match with a gap never hides an exact one inside it.
    """
    spans = sorted(doc.spans[SPANS_KEY], key=lambda s: (s.start, -len(s)))
    ignored = [s for s in spans if s.label_ == IGNORE]
    exact = [s for s in spans if s.id_ != GAP_KIND]
    kept = []
    for span in spans:
        inside = any(
            o.start <= span.start and span.end <= o.end and len(o) > len(span) for o in exact
        )
        touches_ignored = span.label_ != IGNORE and any(
            o.start < span.end and span.start < o.end for o in ignored
        )
        if not inside and not touches_ignored and span.label_ != IGNORE:
            kept.append(span)
    # Ignored phrases have done their work; left in the group, ConText would prune every
    # cue that overlaps one ("had a fit as a child" would lose "as a child").
    doc.spans[SPANS_KEY] = kept
    return doc


class Extractor:
    """Turns text into findings (with context) and facts, using a rule-only spaCy pipeline."""

    def __init__(
        self,
        vocab: Vocabulary,
        modifiers: list[ModifierDef],
        alarm_findings: frozenset[str] = frozenset(),
        frames: Frames | None = None,
    ) -> None:
        _quiet_medspacy_logging()
        from medspacy.context import ConTextRule  # heavy import, done lazily

        self.vocab = vocab
        self.frames = frames
        nlp = spacy.blank("en")
        plain = nlp.tokenizer
        known = _plain_words(plain, vocab.findings.values())
        alarm_words = _plain_words(plain, (vocab.findings[f] for f in alarm_findings))
        tokenizer = NormalisingTokenizer(
            plain, vocab.spelling, known, AlarmSpelling(alarm_words) if alarm_words else None
        )
        nlp.tokenizer = tokenizer

        def norms(text: str) -> list[str]:
            return [token.norm_ for token in tokenizer(text)]

        nlp.add_pipe("sentencizer")
        ruler = nlp.add_pipe(anchored_matcher.FACTORY, config={"spans_key": SPANS_KEY})
        patterns: list[dict[str, Any]] = [
            {"label": finding_id, "pattern": pattern, "id": _kind(pattern)}
            for finding_id, finding in vocab.findings.items()
            for term in finding.terms
            for pattern in compile_term(term, norms)
        ]
        patterns.extend(
            {"label": IGNORE, "pattern": pattern}
            for phrase in vocab.ignore
            for pattern in compile_term(phrase, norms)
        )
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]
        nlp.add_pipe("symptom_rules_overlaps")
        context = nlp.add_pipe(
            CONTEXT,
            config={
                "rules": None,
                "span_attrs": None,
                "phrase_matcher_attr": "LOWER",
                "prune_on_target_overlap": True,
                "input_span_type": "group",
                "span_group_name": SPANS_KEY,
            },
        )
        context.add(  # type: ignore[attr-defined]
            [
                ConTextRule(
                    m.literal,
                    m.category,
                    pattern=m.pattern,
                    direction=m.direction,
                    max_scope=m.max_scope,
                )
                for m in modifiers
            ]
        )
        self.nlp: Language = nlp

    def extract(self, text: str) -> Extraction:
        """Findings and facts in ``text``."""
        doc = self.nlp.make_doc(text)
        for name, component in self.nlp.pipeline:
            if name == CONTEXT and not doc.spans[SPANS_KEY]:
                continue  # nothing for ConText to qualify: it would only cost time
            doc = component(doc)
        findings: list[Finding] = []
        clauses = _clause_numbers(doc)
        for ent in doc.spans[SPANS_KEY]:
            if ent.label_ == IGNORE or about_an_animal(ent, OTHER_WORDS):
                continue
            frame = self.frames.judge(ent) if self.frames else None
            if frame == DROP:
                continue
            finding = replace(self._finding(ent), clause=clauses[ent.start])
            if frame == HYPOTHETICAL_FRAME and finding.status == PRESENT:
                finding = replace(finding, status=HYPOTHETICAL)
            findings.append(finding)
            definition = self.vocab.findings[ent.label_]
            findings.extend(
                replace(finding, id=implied, source="implied") for implied in definition.implies
            )
            if finding.status == PRESENT:  # "breathing fine" rules out breathlessness
                findings.extend(
                    replace(finding, id=excluded, status=ABSENT, uncertain=False, source="implied")
                    for excluded in definition.excludes
                )
        findings = _mark_medicine_reasons(_aim_reassurance(findings, doc, clauses), doc)
        facts = read_facts(text)
        if facts.get("temperature_c", 0.0) >= 38.0:  # type: ignore[operator]
            findings.append(Finding("fever", f"{facts['temperature_c']} °C", source="derived"))
        if facts.get("pain_score", 0.0) >= 8.0:  # type: ignore[operator]
            findings.append(Finding("severe", f"pain {facts['pain_score']}/10", source="derived"))
        if facts.get("pain_score", 0.0) >= 9.0:  # type: ignore[operator]
            findings.append(
                Finding("extreme_pain", f"pain {facts['pain_score']}/10", source="derived")
            )
        about_other = any(f.subject == "other" for f in findings) or _mentions_other(doc)
        return Extraction(tuple(findings), facts, about_other)

    def _finding(self, ent: Span) -> Finding:
        categories = {m.category for m in ent._.modifiers if _reaches(m, ent)}
        status = PRESENT
        for candidate in STATUS_PRIORITY:
            if any(STATUS_BY_CATEGORY.get(c) == candidate for c in categories):
                status = candidate
                break
        return Finding(
            id=ent.label_,
            text=ent.text,
            status=status,
            uncertain="POSSIBLE_EXISTENCE" in categories,
            subject="other" if "OTHER_PERSON" in categories else "self",
            start=ent.start_char,
            end=ent.end_char,
        )


LIST_WORDS = {"or", "nor"}


def _plain_words(plain: Any, findings: Iterable[FindingDef]) -> set[str]:
    """The plain-tokenizer norms of every word in the terms of ``findings``."""
    return {
        token.norm_
        for finding in findings
        for term in finding.terms
        for word in words(parse_term(term))
        for token in plain(word)
    }


CLAUSE_BREAKS = {"but", "however", "although", "though", "whereas", "except", "apart"}


REASSURING = "reassuring"
# Findings that only qualify another ("mild", "a bit", "drinking fine") and so are not what
# a clause is about.
QUALIFIERS = {REASSURING, "mild", "severe", "gradual_onset", "sudden_onset"}


def _aim_reassurance(findings: list[Finding], doc: Doc, clauses: list[int]) -> list[Finding]:
    """Point each reassuring mention's ``clause`` at the clause it is about.

    That is its own clause, unless that clause names nothing but reassurance, or opens
    with a contrast word ("bruised, but fine", "a fever but playing and drinking well"):
    then the nearest clause before it that names something.
    """
    # a finding that implies reassurance ("drinking fine") shares its span with the copy
    reassuring_spans = {(f.start, f.end) for f in findings if f.id == REASSURING}
    content = {
        f.clause
        for f in findings
        if f.clause >= 0 and f.id not in QUALIFIERS and (f.start, f.end) not in reassuring_spans
    }
    aimed = []
    for finding in findings:
        if finding.id == REASSURING and finding.clause >= 0:
            first = doc[clauses.index(finding.clause)]
            earlier = [c for c in content if c < finding.clause]
            if earlier and (finding.clause not in content or first.lower_ in CLAUSE_BREAKS):
                finding = replace(finding, clause=max(earlier))
        aimed.append(finding)
    return aimed


MEDICINES = {
    *("paracetamol", "acetaminophen", "calpol", "ibuprofen", "nurofen", "tylenol", "advil"),
    *("motrin", "medicine", "medicines", "meds", "medication", "something", "antipyretics"),
}
MEDICINE_REASON = "medicine_reason"


def _mark_medicine_reasons(findings: list[Finding], doc: Doc) -> list[Finding]:
    """Mark a fever named only as the reason for a medicine ("paracetamol for fever") with
    ``source="medicine_reason"``; a measured temperature may then overrule it
    (``state.build_state``)."""
    return [
        replace(f, source=MEDICINE_REASON)
        if f.id == "fever" and f.status == PRESENT and f.source == "text" and _is_reason(doc, f)
        else f
        for f in findings
    ]


def _is_reason(doc: Doc, finding: Finding) -> bool:
    """ "<medicine> for (a|the|his|her)? <finding>" just before the mention."""
    span = doc.char_span(finding.start, finding.end, alignment_mode="expand")
    if span is None:
        return False
    before = [t.lower_ for t in doc[max(0, span.start - 4) : span.start]]
    if "for" not in before:
        return False
    return bool(MEDICINES & set(before[: before.index("for")]))


def _clause_numbers(doc: Doc) -> list[int]:
    """The clause number of every token: a new sentence or a contrast word starts one."""
    numbers: list[int] = []
    clause = 0
    for token in doc:
        if token.i > 0 and (token.is_sent_start or token.lower_ in CLAUSE_BREAKS):
            clause += 1
        numbers.append(clause)
    return numbers


def _reaches(modifier: Any, ent: Span) -> bool:
    """Whether a ConText cue really applies to ``ent`` (a comma starts a new clause).

    A cue before the finding reaches past a comma only inside a list joined by "or"/"nor"
    ("no fever, cough or vomiting"); otherwise "no fever, crushing chest pain" would hide
    the chest pain. Cues about someone else, and cues after the finding, always apply.
    """
    if modifier.category in {"OTHER_PERSON", "POSSIBLE_EXISTENCE"}:
        return True
    cue_end = modifier.modifier_span[1]
    if cue_end > ent.start:
        return True
    doc = ent.doc
    if not any(token.text == "," for token in doc[cue_end : ent.start]):
        return True
    scope_end = max(modifier.scope_span[1], ent.end)
    return any(token.lower_ in LIST_WORDS for token in doc[cue_end:scope_end])


OTHER_WORDS = frozenset(
    {
        "husband",
        "wife",
        "son",
        "daughter",
        "baby",
        "child",
        "kid",
        "partner",
        "mum",
        "mom",
        "dad",
        "father",
        "mother",
        "boyfriend",
        "girlfriend",
        "grandma",
        "grandmother",
        "toddler",
        "grandad",
        "grandfather",
        "friend",
        "brother",
        "sister",
        "infant",
        "newborn",
        "boy",
        "girl",
    }
)


def _mentions_other(doc: Doc) -> bool:
    """ "my husband", "our baby", or an age after "my" ("my 2 yo", "my 18 month old")."""
    for token in doc:
        if token.i == 0 or doc[token.i - 1].lower_ not in {"my", "our"}:
            continue
        if token.lower_ in OTHER_WORDS or token.like_num or token.lower_[:1].isdigit():
            return True
    return False


def _kind(pattern: list[dict[str, Any]]) -> str:
    """``gap`` for a pattern with a ``...`` gap (a loose match), else ``exact``."""
    return GAP_KIND if any(str(spec.get("OP", "")).startswith("{") for spec in pattern) else "exact"


def read_facts(text: str) -> dict[str, float | str]:
    """Numeric facts in ``text`` (only those found), vital signs included."""
    facts: dict[str, float | str] = {}
    for name, vital in vitals.READERS.items():
        reading = vital(text)
        if reading is not None:
            facts[name] = reading
    for start, end in vitals.blood_pressure_spans(text):  # "88/52" is not 88 weeks
        text = text[:start] + " " * (end - start) + text[end:]
    readers = {
        "temperature_c": numbers.temperature_c,
        "age_years": numbers.age_years,
        "duration_days": numbers.duration_days,
        "pain_score": numbers.pain_score,
        "pregnancy_weeks": numbers.pregnancy_weeks,
        "tablets_taken": numbers.tablets_taken,
        "sex": numbers.sex,
    }
    for name, reader in readers.items():
        value = reader(text)
        if value is not None:
            facts[name] = value
    return facts
