"""The term pattern language of the vocabulary.

A term is a sequence of words and groups. ``(a|b c)`` is a group of alternatives, each
itself a sequence (groups may nest); a trailing ``?`` makes a word or group optional::

    pain in (my|the)? (left|right)? chest
    (haven't|has not) (peed|passed (any)? urine)
    (poo|stool) ... (black|like tar)

``...`` is a gap: up to ``GAP_MAX`` words between its neighbours (commas allowed, never a
sentence end or "but"). A term may not start or end with a gap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

GAP = "..."
GAP_MAX = 4


class TermSyntaxError(ValueError):
    """A term with unbalanced parentheses or an empty alternative."""


@dataclass(frozen=True)
class Word:
    """One literal word (it may still become several tokens, like ``can't``)."""

    text: str
    optional: bool = False


@dataclass(frozen=True)
class Group:
    """Alternatives; each alternative is a sequence of items."""

    alternatives: tuple[tuple[Word | Group | Gap, ...], ...]
    optional: bool = False


@dataclass(frozen=True)
class Gap:
    """Up to ``GAP_MAX`` arbitrary words (never a sentence end or "but")."""

    optional: bool = False


Item = Word | Group | Gap
Sequence = tuple[Item, ...]


def parse_term(term: str) -> Sequence:
    """Parse a term into its item sequence; raises ``TermSyntaxError``."""
    tokens = _lex(term)
    items, position = _sequence(tokens, 0, term)
    if position != len(tokens):
        raise TermSyntaxError(f"unexpected {tokens[position]!r} in {term!r}")
    if not items:
        raise TermSyntaxError("empty term")
    if isinstance(items[0], Gap) or isinstance(items[-1], Gap):
        raise TermSyntaxError(f"a term may not start or end with {GAP} in {term!r}")
    return items


def words(items: Sequence) -> set[str]:
    """Every literal word in a parsed term."""
    found: set[str] = set()
    for item in items:
        if isinstance(item, Word):
            found.add(item.text)
        elif isinstance(item, Group):
            for alternative in item.alternatives:
                found |= words(alternative)
    return found


def expand(items: Sequence) -> list[str]:
    """Every plain phrase the parsed term stands for."""
    options: list[list[str]] = []
    for item in items:
        if isinstance(item, Word):
            choice = [item.text]
        elif isinstance(item, Gap):
            choice = [GAP]
        else:
            choice = [phrase for alt in item.alternatives for phrase in expand(alt)]
        options.append([*choice, ""] if item.optional else choice)
    return sorted({" ".join(p for p in combo if p) for combo in itertools.product(*options)} - {""})


def _lex(term: str) -> list[str]:
    tokens: list[str] = []
    current = ""
    for char in term:
        if char in "()|" or char.isspace():
            if current:
                tokens.append(current)
                current = ""
            if not char.isspace():
                tokens.append(char)
        elif char == "?" and not current and tokens and tokens[-1] == ")":
            tokens.append("?")
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def _sequence(tokens: list[str], position: int, term: str) -> tuple[Sequence, int]:
    items: list[Item] = []
    while position < len(tokens) and tokens[position] not in ")|":
        token = tokens[position]
        if token == "(":
            alternatives: list[Sequence] = []
            position += 1
            while True:
                alternative, position = _sequence(tokens, position, term)
                if not alternative:
                    raise TermSyntaxError(f"empty alternative in {term!r}")
                alternatives.append(alternative)
                if position >= len(tokens):
                    raise TermSyntaxError(f"unclosed ( in {term!r}")
                if tokens[position] == ")":
                    break
                position += 1  # skip |
            position += 1
            optional = position < len(tokens) and tokens[position] == "?"
            position += 1 if optional else 0
            items.append(Group(tuple(alternatives), optional))
        elif token == "?":
            raise TermSyntaxError(f"stray ? in {term!r}")
        elif token == GAP:
            items.append(Gap())
            position += 1
        else:
            optional = token.endswith("?") and len(token) > 1
            items.append(Word(token[:-1] if optional else token, optional))
            position += 1
    return tuple(items), position
