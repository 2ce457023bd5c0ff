"""Finds the vocabulary's token patterns, trying only those whose first word is in the text.

spaCy's ``Matcher`` tries every pattern at every token. The vocabulary compiles to about
5,000 patterns, so a four-word greeting cost about 0.3 ms before any finding could be read,
on every patient message. Every compiled pattern starts with one plain, required word
(``patterns._anchor``), so a pattern can only match where that word occurs: the patterns
are kept in one small matcher per first word, and a message runs only the matchers of the
words it contains. A pattern that does not start that way goes in a matcher that runs on
every message, so the result is always the same as one matcher holding every pattern.
"""

# No `from __future__ import annotations`: spaCy validates the factory's annotations at run time.
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

FACTORY = "symptom_rules_anchored_matcher"


class AnchoredMatcher:
    """Token patterns with a label and a span id, matched into ``doc.spans[spans_key]``."""

    def __init__(self, vocab: Vocab, spans_key: str) -> None:
        self.vocab = vocab
        self.spans_key = spans_key
        self._by_first_word: dict[int, Matcher] = {}
        self._unanchored = Matcher(vocab, validate=False)
        self._labels: dict[int, tuple[str, str]] = {}  # match key -> (label, span id)
        self.patterns: list[dict[str, Any]] = []

    def add_patterns(self, patterns: list[dict[str, Any]]) -> None:
        """Add ``{"label", "pattern", "id"?}`` entries, as spaCy's span ruler takes them."""
        for entry in patterns:
            label, span_id = str(entry["label"]), str(entry.get("id", ""))
            key = repr((label, span_id))
            self._labels[self.vocab.strings.add(key)] = (label, span_id)
            self._matcher_for(entry["pattern"]).add(key, [entry["pattern"]])
            self.patterns.append(entry)

    def _matcher_for(self, pattern: list[dict[str, Any]]) -> Matcher:
        first = pattern[0] if pattern else {}
        word = first.get("NORM")
        if set(first) != {"NORM"} or not isinstance(word, str):
            return self._unanchored
        norm = self.vocab.strings.add(word)
        if norm not in self._by_first_word:
            self._by_first_word[norm] = Matcher(self.vocab, validate=False)
        return self._by_first_word[norm]

    def __call__(self, doc: Doc) -> Doc:
        matchers = [self._unanchored] if len(self._unanchored) else []
        for norm in dict.fromkeys(token.norm for token in doc):
            matcher = self._by_first_word.get(norm)
            if matcher is not None:
                matchers.append(matcher)
        found = {
            Span(doc, start, end, label=self._labels[key][0], span_id=self._labels[key][1])
            for matcher in matchers
            for key, start, end in matcher(doc)
            if start != end
        }
        doc.spans[self.spans_key] = sorted(found)
        return doc


@Language.factory(FACTORY, default_config={"spans_key": "findings"})
def make_anchored_matcher(nlp: Language, name: str, spans_key: str) -> AnchoredMatcher:
    """spaCy's factory hook, so the matcher sits in the pipeline like its span ruler."""
    return AnchoredMatcher(nlp.vocab, spans_key)
