"""Compile vocabulary terms into spaCy token patterns on the normalised token form.

A group whose alternatives are all single tokens becomes one ``{"NORM": {"IN": [...]}}``
token (``"OP": "?"`` when optional); in other groups the one-word alternatives still share
one such token and only the longer alternatives are expanded. This keeps the entity ruler
small even for generated terms such as ``pain in (my|the)? (knee|hip|ankle)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ..terms import GAP_MAX, Gap, Group, Item, Sequence, Word, parse_term

TokenPattern = list[dict[str, Any]]
# A gap may cross commas ("red, hot and swollen") but not a sentence end, a "but" or a
# negation ("face isn't drooping" is no drooping face; spaCy splits "isnt" into "is", "nt").
GAP_STOPS = (
    *(".", "!", "?", ";", ":", "but", "however", "although", "though", "except"),
    *("not", "n't", "nt", "no", "never", "isnt", "wasnt", "arent", "hasnt", "doesnt", "didnt"),
)
Tokenize = Callable[[str], list[str]]


def compile_term(term: str, norms: Tokenize) -> list[TokenPattern]:
    """Token patterns for one term; ``norms`` turns text into its normalised tokens."""
    patterns = _compile(parse_term(term), norms)
    anchored = [a for p in patterns for a in _anchor(p)]
    return [p for p in anchored if p and any(spec.get("OP") != "?" for spec in p)]


def _anchor(pattern: TokenPattern) -> list[TokenPattern]:
    """Copies of ``pattern`` that each start with one plain, required word.

    spaCy checks a plain ``NORM`` in compiled code but an ``IN`` set or an optional token
    through Python at every token of every message; only the first token is tried that
    often, so splitting it keeps the screen fast.
    """
    if not pattern:
        return []
    first, rest = pattern[0], pattern[1:]
    if first.get("OP") == "?":
        required = {key: value for key, value in first.items() if key != "OP"}
        return _anchor(rest) + _anchor([required, *rest])
    norm = first.get("NORM")
    if isinstance(norm, dict) and "IN" in norm and len(first) == 1:
        return [[{"NORM": value}, *rest] for value in norm["IN"]]
    return [pattern]


def _compile(items: Sequence, norms: Tokenize) -> list[TokenPattern]:
    choices: list[list[TokenPattern]] = []
    for item in items:
        if isinstance(item, Gap):
            choices.append([[{"LOWER": {"NOT_IN": list(GAP_STOPS)}, "OP": f"{{0,{GAP_MAX}}}"}]])
            continue
        single = _single_tokens(item, norms)
        if single is not None:
            spec: dict[str, Any] = (
                {"NORM": single[0]} if len(single) == 1 else {"NORM": {"IN": sorted(single)}}
            )
            if item.optional:
                spec["OP"] = "?"
            choices.append([[spec]])
            continue
        if isinstance(item, Word):
            options = [[{"NORM": token} for token in norms(item.text)]]
        else:
            options = _group_options(item, norms)
        choices.append([*options, []] if item.optional else options)
    return [[spec for part in combo for spec in part] for combo in itertools.product(*choices)]


def _group_options(group: Group, norms: Tokenize) -> list[TokenPattern]:
    """Alternatives of a group: its one-word alternatives share one ``NORM IN`` token."""
    singles: set[str] = set()
    options: list[TokenPattern] = []
    for alternative in group.alternatives:
        single = _single_tokens(alternative[0], norms) if len(alternative) == 1 else None
        if single is not None and not alternative[0].optional:
            singles |= set(single)
        else:
            options.extend(_compile(alternative, norms))
    if singles:
        options.insert(0, [{"NORM": {"IN": sorted(singles)}}])
    return options


def _single_tokens(item: Item, norms: Tokenize) -> list[str] | None:
    """The token norms when every alternative of ``item`` is exactly one token."""
    if isinstance(item, Gap):
        return None
    if isinstance(item, Word):
        tokens = norms(item.text)
        return tokens if len(tokens) == 1 else None
    found: set[str] = set()
    for alternative in item.alternatives:
        if len(alternative) != 1 or alternative[0].optional:
            return None
        inner = _single_tokens(alternative[0], norms)
        if inner is None:
            return None
        found |= set(inner)
    return sorted(found)
