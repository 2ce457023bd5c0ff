"""The anchored matcher finds exactly what spaCy's span ruler finds with the same patterns,
only faster; and a message with nothing clinical in it is screened like any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
import yaml
from spacy.pipeline.span_ruler import SpanRuler

from symptom_rules.engine import Screening
from symptom_rules.extraction import anchored_matcher
from symptom_rules.extraction.anchored_matcher import AnchoredMatcher
from symptom_rules.extraction.pipeline import SPANS_KEY
from symptom_rules.state import TriageState

CASES = Path(__file__).resolve().parents[2] / "symptom_rules" / "cases"


def case_texts() -> list[str]:
    texts = [
        json.loads(line)["text"]
        for path in sorted(CASES.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for path in sorted((CASES / "rules").glob("*.yaml")):
        texts += [case["text"] for case in yaml.safe_load(path.read_text())["cases"]]
    return texts


def spans(doc) -> list[tuple[int, int, str, str]]:
    return [(s.start, s.end, s.label_, s.id_) for s in doc.spans[SPANS_KEY]]


def span_ruler_like(nlp, patterns) -> SpanRuler:
    ruler = SpanRuler(nlp, spans_key=SPANS_KEY, validate=False, overwrite=True)
    ruler.add_patterns(patterns)
    return ruler


def test_the_vocabulary_matches_as_with_spacys_span_ruler(engine):
    nlp = engine.extractor.nlp
    anchored = nlp.get_pipe(anchored_matcher.FACTORY)
    ruler = span_ruler_like(nlp, anchored.patterns)
    texts = case_texts()
    assert len(texts) > 500
    differing = []
    for text in texts:
        expected, found = nlp.make_doc(text), nlp.make_doc(text)
        ruler(expected)
        anchored(found)
        if spans(found) != spans(expected):
            differing.append(text)
    assert differing == []


def test_every_vocabulary_pattern_sits_under_its_first_word(engine):
    anchored = engine.extractor.nlp.get_pipe(anchored_matcher.FACTORY)
    assert len(anchored.patterns) > 1000
    assert len(anchored._unanchored) == 0


PATTERNS = [
    {"label": "chest_pain", "pattern": [{"NORM": "chest"}, {"NORM": "pain"}], "id": "exact"},
    {"label": "chest_pain", "pattern": [{"NORM": "chest"}, {"NORM": "pains"}], "id": "exact"},
    # Not starting with one plain word: tried on every message.
    {"label": "rash", "pattern": [{"NORM": {"IN": ["red", "purple"]}}, {"NORM": "rash"}]},
    {"label": "faint", "pattern": [{"LOWER": "passed"}, {"LOWER": "out"}]},
    {
        "label": "swollen",
        "pattern": [
            {"NORM": "leg"},
            {"LOWER": {"NOT_IN": ["."]}, "OP": "{0,3}"},
            {"NORM": "swollen"},
        ],
        "id": "gap",
    },
]


@pytest.mark.parametrize(
    "text",
    [
        "chest pain",
        "chest pain and chest pains, chest pain again",
        "a purple rash and a red rash",
        "I passed out",
        "my leg is very badly swollen",
        "leg leg swollen",
        "hello there",
        "",
    ],
)
def test_patterns_of_every_shape_match_as_with_spacys_span_ruler(text):
    nlp = spacy.blank("en")
    anchored = AnchoredMatcher(nlp.vocab, SPANS_KEY)
    anchored.add_patterns(PATTERNS)
    expected, found = nlp.make_doc(text), nlp.make_doc(text)
    span_ruler_like(nlp, PATTERNS)(expected)
    anchored(found)
    assert spans(found) == spans(expected)


def test_a_message_with_nothing_clinical_gets_the_screen_of_the_blank_state(engine):
    blank = engine._screen_state(TriageState())
    assert engine.screen("thanks, see you tuesday") == blank
    assert blank == Screening(None, (), (), "", "")


@pytest.mark.parametrize("text", ["my temperature is 41.5", "my 2 month old", "no fever"])
def test_a_message_with_only_a_fact_or_a_denial_is_not_blank(engine, text):
    state = TriageState()
    state.add_extraction(engine.extractor.extract(text))
    assert not state.is_blank()
