"""Spelling tolerance for the words of the red flags: "cheast", "stroak", "sweting", "breeth".

The short head words of emergencies (chest, pain, heart, stroke, blue, breathe) are where a
misspelling costs most, and where a general corrector does most harm ("heat" is not
"heart", "chess" is not "chest"). So a word is corrected only when:

* it is not itself an English word (pyspellchecker's frequency list, from subtitles and
  books: a word seen at least ``REAL_WORD_MIN_COUNT`` times is a real word), nor a word of
  the vocabulary, and is at least ``MIN_LENGTH`` letters long;
* some red-flag word is within one edit (optimal string alignment, so a swap of two
  letters is one edit; ``rapidfuzz``), or more when it sounds the same (equal Metaphone
  keys, ``jellyfish``; see ``max_distance``), which catches phonetic spellings ("anafalactic";
  "hart" is a real word, so it comes from the reviewed table in core.yaml instead);
* the best candidate is unique, or the tie is broken by a shared first letter, then by a
  shared Metaphone key, then by the more common English word ("breeth": breath).

The reviewed table (``spelling`` in core.yaml) is applied first and always wins; the cases
that must and must not be corrected are in tests/symptom_rules/test_spelling.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import jellyfish
from rapidfuzz import process
from rapidfuzz.distance import OSA

MIN_LENGTH = 4
REAL_WORD_MIN_COUNT = 100


def max_distance(word: str, *, same_sound: bool) -> int:
    """Edits allowed: one; two when the Metaphone keys agree ("stroak"/"stroke"), and three
    for a sound-alike of nine letters or more ("anafalactic"). Two edits between different
    sounds would read the rare medical word "haemostasis" as "haemoptysis"."""
    if not same_sound:
        return 1
    return 2 if len(word) < 9 else 3


@functools.lru_cache(maxsize=1)
def english_word_counts() -> Callable[[str], int]:
    """How often a lower-case word occurs in pyspellchecker's English list (0 if never)."""
    from spellchecker import SpellChecker  # loads a 2 MB list once per process

    frequency = SpellChecker(language="en", distance=1).word_frequency
    return lambda word: int(frequency[word])


class AlarmSpelling:
    """Corrects misspellings towards the words that red flags are written in."""

    def __init__(
        self, alarm_words: Iterable[str], word_count: Callable[[str], int] | None = None
    ) -> None:
        self.alarm_words = sorted({w for w in alarm_words if len(w) >= MIN_LENGTH and w.isalpha()})
        self._metaphone = {word: jellyfish.metaphone(word) for word in self.alarm_words}
        self._count = word_count or english_word_counts()

    def _is_real_word(self, word: str) -> bool:
        return self._count(word) >= REAL_WORD_MIN_COUNT

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one instance per engine, kept alive
    def correct(self, word: str) -> str | None:
        """The red-flag word meant by ``word``, or None to leave it as it is."""
        if len(word) < MIN_LENGTH or not word.isalpha() or self._is_real_word(word):
            return None
        key = jellyfish.metaphone(word)
        matches = process.extract(
            word,
            self.alarm_words,
            scorer=OSA.distance,
            score_cutoff=max_distance(word, same_sound=True),
            limit=None,
        )
        scored = [
            (distance, candidate)
            for candidate, distance, _ in matches
            if distance <= max_distance(word, same_sound=self._metaphone[candidate] == key)
        ]
        if not scored:
            return None
        best = min(distance for distance, _ in scored)
        tied = [candidate for distance, candidate in scored if distance == best]
        for narrower in (
            lambda c: c[0] == word[0],
            lambda c: self._metaphone[c] == key,
        ):
            if len(tied) > 1:
                tied = [c for c in tied if narrower(c)] or tied
        if len(tied) > 1:
            tied.sort(key=lambda c: (-self._count(c), c))
        return tied[0]
