"""Person-and-now frames: does a bare mention ("stroke", "seizure") say someone has it now?

A condition's name fires its red flag unless the words around *that mention* make it a
name ("Dr Stroke"), a service or object ("stroke clinic", "seizure-proof case", "seizure
meds"), a figure of speech ("nearly had a heart attack when I saw the bill lol", "the
printer is choking"), a harmless swallow ("ingested a little wine") or an information
question ("can you get sepsis from a cat scratch?"). The word lists live in
``data/frames.yaml`` so that they can be reviewed like the rules; ConText (negation,
history, family) still applies to whatever the frames keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Span

from ..vocabulary import Vocabulary
from ..yaml_nodes import Source, check_keys, compose_file, mapping_items, to_python

DROP = "drop"
HYPOTHETICAL = "hypothetical"
KEYS = {
    "mentions",
    "titles",
    "services",
    "laughter",
    "near_miss",
    "objects",
    "harmless_swallows",
    "question_openers",
    "now",
}
SKIP_BEFORE = {"'", '"', "‘", "’", "“", "”", "the", "a"}
SKIP_AFTER = {"-", "'s", "’s", "'", '"'}
OBJECT_WINDOW = 4
SWALLOW_WINDOW = 6
NEAR_MISS_WINDOW = 3
# Words after which a harmless drink names the container or the mix, not what was swallowed:
# "drank antifreeze from a water bottle", "bleach mixed with water", "thinking it was water".
SWALLOW_STOPS = frozenset(
    {"from", "out", "in", "into", "with", "mixed", "thinking", "instead", "by"}
)


@dataclass(frozen=True)
class Frames:
    """The reviewed word lists of ``frames.yaml``."""

    mentions: frozenset[str]
    titles: frozenset[str]
    services: frozenset[str]
    laughter: frozenset[str]
    near_miss: frozenset[str]
    objects: frozenset[str]
    harmless_swallows: frozenset[str]
    question_openers: tuple[str, ...]
    now: tuple[str, ...]

    def judge(self, span: Span) -> str | None:
        """``drop`` when the frame says this is not a person's condition, ``hypothetical``
        for an information question, None when the mention stands."""
        if span.label_ not in self.mentions:
            return None
        doc, sentence = span.doc, span.sent
        before = [t.lower_ for t in doc[sentence.start : span.start]]
        after = [t.lower_ for t in doc[span.end : sentence.end]]
        words = {t.lower_ for t in sentence}
        if _first(reversed(before), SKIP_BEFORE) in self.titles:
            return DROP
        if _first(after, SKIP_AFTER) in self.services:
            return DROP
        if words & self.laughter or set(before[-NEAR_MISS_WINDOW:]) & self.near_miss:
            return DROP
        if set(before[-OBJECT_WINDOW:]) & self.objects:
            return DROP
        if set(_before_any(after[:SWALLOW_WINDOW], SWALLOW_STOPS)) & self.harmless_swallows:
            return DROP
        if self._is_information_question(sentence, span):
            return HYPOTHETICAL
        return None

    def _is_information_question(self, sentence: Span, span: Span) -> bool:
        """The sentence, or the part of it after the last comma before the mention, opens
        like a question ("newly diagnosed, can a hypo make you pass out?") and says
        nothing about a person now."""
        words = [t.lower_ for t in sentence]
        offset = span.start - sentence.start
        commas = [i for i, word in enumerate(words[:offset]) if word in {",", ";"}]
        starts = [0] + [i + 1 for i in commas[-1:]]
        text = " " + " ".join(words) + " "
        if any(f" {marker} " in text for marker in self.now):
            return False
        for start in starts:
            opening = " " + " ".join(words[start:]) + " "
            if any(opening.startswith(f" {opener} ") for opener in self.question_openers):
                return True
        return False


def _first(tokens: Iterable[str], skip: set[str]) -> str | None:
    """The first of the lower-case ``tokens`` not in ``skip``."""
    return next((token for token in tokens if token not in skip), None)


def load_frames(path: Path, vocab: Vocabulary) -> Frames:
    """Read ``frames.yaml``; every key is required and holds a list of words, and every
    mention must be a declared finding."""
    source = Source(path)
    root = compose_file(path)
    items = mapping_items(source, root, "a frames file")
    check_keys(source, root, items, required=KEYS, optional=set(), what="frames")
    spec = to_python(root)
    for key, key_node, _value in items:
        values = spec[key]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise source.error(key_node, f"{key} must be a list of words (quote yes/no/on/off)")
        if key == "mentions":
            unknown = sorted(set(values) - set(vocab.findings))
            if unknown:
                raise source.error(key_node, f"mentions name undeclared findings: {unknown}")
    lower = {key: [str(v).lower() for v in spec[key]] for key in KEYS}
    return Frames(
        mentions=frozenset(spec["mentions"]),
        titles=frozenset(lower["titles"]),
        services=frozenset(lower["services"]),
        laughter=frozenset(lower["laughter"]),
        near_miss=frozenset(lower["near_miss"]),
        objects=frozenset(lower["objects"]),
        harmless_swallows=frozenset(lower["harmless_swallows"]),
        question_openers=tuple(lower["question_openers"]),
        now=tuple(lower["now"]),
    )


def _before_any(words: list[str], stops: frozenset[str]) -> list[str]:
    """The words up to (not including) the first stop word."""
    for index, word in enumerate(words):
        if word in stops:
            return words[:index]
    return words
