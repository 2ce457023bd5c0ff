"""A spaCy tokenizer wrapper that corrects known misspellings into ``token.norm_``."""

from __future__ import annotations

import functools
from typing import Any

from spacy.tokens import Doc

from .spelling import AlarmSpelling

FUZZY_MIN_LENGTH = 8


class NormalisingTokenizer:
    """Wraps spaCy's tokenizer and sets ``token.norm_`` for misspellings and shorthand.

    Known misspellings come from the vocabulary's ``spelling`` table; other long words
    one edit away from exactly one vocabulary word are corrected too, and shorter ones
    towards the words of the red flags (``alarm``, see ``spelling.py``).
    """

    def __init__(
        self,
        tokenizer: Any,
        spelling: dict[str, str],
        known: set[str],
        alarm: AlarmSpelling | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.spelling = spelling
        self.known = known
        self.alarm = alarm
        self._deletions: dict[str, set[str]] = {}
        for word in known:
            if len(word) >= FUZZY_MIN_LENGTH - 1:
                for variant in _deletions(word) | {word}:
                    self._deletions.setdefault(variant, set()).add(word)

    def __call__(self, text: str) -> Doc:
        """Tokenize ``text`` and set each token's corrected ``norm_``."""
        doc = self.tokenizer(text.replace("’", "'").replace("‘", "'"))
        for token in doc:
            lower = token.lower_
            if lower in self.spelling:
                token.norm_ = self.spelling[lower]
            elif lower.isalpha() and lower not in self.known:
                corrected = self._correct(lower) if len(lower) >= FUZZY_MIN_LENGTH else None
                if corrected is None and self.alarm is not None:
                    corrected = self.alarm.correct(lower)
                if corrected:
                    token.norm_ = corrected
        return doc

    def pipe(self, texts: Any, batch_size: int = 1000) -> Any:
        """Tokenize a stream of texts."""
        for text in texts:
            yield self(text)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one tokenizer per engine, kept alive
    def _correct(self, word: str) -> str | None:
        candidates: set[str] = set()
        for variant in _deletions(word) | {word}:
            candidates |= self._deletions.get(variant, set())
        return candidates.pop() if len(candidates) == 1 else None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
