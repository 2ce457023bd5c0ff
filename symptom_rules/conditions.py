"""Rule conditions: a small tree over declared findings and facts, with three-valued logic.

A finding is True (present), False (absent: denied or answered no) or None (unknown).
``all``/``any``/``not`` follow Kleene logic, so a rule can be *possible* (None) until the
missing answer arrives; the engine asks about the unknown leaves of possible rules.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from yaml.nodes import Node

from .vocabulary import Vocabulary
from .yaml_nodes import Source, mapping_items, sequence_items, to_python

COMPARISONS = ("lt", "le", "gt", "ge", "eq")


class State(Protocol):
    """What a condition is evaluated against."""

    def finding(self, finding_id: str) -> bool | None:
        """True present, False absent, None unknown."""

    def fact(self, fact_id: str) -> float | str | None:
        """The fact's value, or None when unknown."""


class Condition:
    """Base of the condition tree."""

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth of the condition in ``state``."""
        raise NotImplementedError

    def unknowns(self, state: State) -> list[str]:
        """Leaves (``finding:x`` / ``fact:y``) whose answers could settle an unknown result."""
        raise NotImplementedError

    def names(self) -> set[str]:
        """Every ``finding:x`` and ``fact:y`` this condition mentions."""
        raise NotImplementedError

    def finding_ids(self) -> set[str]:
        """The ids of the findings this condition mentions (``x`` of ``finding:x``)."""
        prefix = "finding:"
        return {name.removeprefix(prefix) for name in self.names() if name.startswith(prefix)}


@dataclass(frozen=True)
class HasFinding(Condition):
    """True when the finding is present."""

    finding_id: str

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth in ``state`` (see ``Condition.evaluate``)."""
        return state.finding(self.finding_id)

    def unknowns(self, state: State) -> list[str]:
        """Leaves that could settle an unknown result (see ``Condition.unknowns``)."""
        return [f"finding:{self.finding_id}"] if self.evaluate(state) is None else []

    def names(self) -> set[str]:
        """Every leaf this condition names (see ``Condition.names``)."""
        return {f"finding:{self.finding_id}"}


@dataclass(frozen=True)
class Compare(Condition):
    """A comparison of a fact with a constant, such as ``age_years lt 0.25``."""

    fact_id: str
    op: str
    value: float | str

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth in ``state`` (see ``Condition.evaluate``)."""
        actual = state.fact(self.fact_id)
        if actual is None:
            return None
        if self.op == "eq":
            return actual == self.value
        if isinstance(actual, str) or isinstance(self.value, str):
            return False
        return {
            "lt": actual < self.value,
            "le": actual <= self.value,
            "gt": actual > self.value,
            "ge": actual >= self.value,
        }[self.op]

    def unknowns(self, state: State) -> list[str]:
        """Leaves that could settle an unknown result (see ``Condition.unknowns``)."""
        return [f"fact:{self.fact_id}"] if self.evaluate(state) is None else []

    def names(self) -> set[str]:
        """Every leaf this condition names (see ``Condition.names``)."""
        return {f"fact:{self.fact_id}"}


@dataclass(frozen=True)
class _Compound(Condition):
    """A condition over parts; subclasses say how the parts' truth values combine."""

    parts: tuple[Condition, ...]

    def unknowns(self, state: State) -> list[str]:
        """Leaves that could settle an unknown result (see ``Condition.unknowns``)."""
        if self.evaluate(state) is not None:
            return []
        return [u for p in self.parts for u in p.unknowns(state)]

    def names(self) -> set[str]:
        """Every leaf this condition names (see ``Condition.names``)."""
        return set().union(*(p.names() for p in self.parts))


@dataclass(frozen=True)
class AllOf(_Compound):
    """True when every part is true."""

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth in ``state`` (see ``Condition.evaluate``)."""
        values = [p.evaluate(state) for p in self.parts]
        if False in values:
            return False
        return True if all(v is True for v in values) else None


@dataclass(frozen=True)
class AnyOf(_Compound):
    """True when at least one part is true."""

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth in ``state`` (see ``Condition.evaluate``)."""
        values = [p.evaluate(state) for p in self.parts]
        if True in values:
            return True
        return False if all(v is False for v in values) else None


@dataclass(frozen=True)
class Not(Condition):
    """True when the part is false."""

    part: Condition

    def evaluate(self, state: State) -> bool | None:
        """Three-valued truth in ``state`` (see ``Condition.evaluate``)."""
        value = self.part.evaluate(state)
        return None if value is None else not value

    def unknowns(self, state: State) -> list[str]:
        """Leaves that could settle an unknown result (see ``Condition.unknowns``)."""
        return self.part.unknowns(state)

    def names(self) -> set[str]:
        """Every leaf this condition names (see ``Condition.names``)."""
        return self.part.names()


@dataclass(frozen=True)
class MappingState:
    """A plain ``State`` over two dictionaries (handy in tests and case files)."""

    findings: Mapping[str, bool]
    facts: Mapping[str, float | str]

    def finding(self, finding_id: str) -> bool | None:
        """True present, False absent, None unknown."""
        return self.findings.get(finding_id)

    def fact(self, fact_id: str) -> float | str | None:
        """The fact's value, or None when unknown."""
        return self.facts.get(fact_id)


def parse_condition(source: Source, node: Node, vocab: Vocabulary) -> Condition:
    """Build a condition from its YAML node, rejecting names the vocabulary does not declare."""
    items = mapping_items(source, node, "a condition")
    keys = [key for key, _, _ in items]
    for key, key_node, _ in items:
        if key not in vocab.operators:
            raise source.error(key_node, f"unknown operator {key!r}{_hint(key, vocab.operators)}")
    by_key = {key: value for key, _, value in items}
    if keys in (["all"], ["any"]):
        parts = tuple(
            parse_condition(source, part, vocab)
            for part in sequence_items(source, by_key[keys[0]], keys[0])
        )
        if not parts:
            raise source.error(node, f"{keys[0]} needs at least one condition")
        return AllOf(parts) if keys == ["all"] else AnyOf(parts)
    if keys == ["not"]:
        return Not(parse_condition(source, by_key["not"], vocab))
    if keys == ["finding"]:
        name = to_python(by_key["finding"])
        if name not in vocab.findings:
            raise source.error(
                by_key["finding"], f"unknown finding {name!r}{_hint(str(name), vocab.findings)}"
            )
        return HasFinding(str(name))
    if "fact" in by_key and len(keys) == 2:
        return _comparison(source, node, by_key, vocab)
    raise source.error(
        node,
        "a condition is one of {all: [...]}, {any: [...]}, {not: ...}, {finding: name} "
        f"or {{fact: name, <{'|'.join(COMPARISONS)}>: value}}; got keys {keys}",
    )


def _comparison(source: Source, node: Node, by_key: dict[str, Node], vocab: Vocabulary) -> Compare:
    name = to_python(by_key["fact"])
    if name not in vocab.facts:
        raise source.error(by_key["fact"], f"unknown fact {name!r}{_hint(str(name), vocab.facts)}")
    (op,) = [key for key in by_key if key != "fact"]
    if op not in COMPARISONS:
        raise source.error(node, f"unknown comparison {op!r}; use one of {', '.join(COMPARISONS)}")
    value = to_python(by_key[op])
    fact = vocab.facts[str(name)]
    if fact.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise source.error(by_key[op], f"fact {name} is a number; {value!r} is not")
    if fact.type == "text" and (op != "eq" or not isinstance(value, str)):
        raise source.error(by_key[op], f"fact {name} is text; compare it with eq and a text value")
    return Compare(str(name), op, value if isinstance(value, str) else float(value))


def _hint(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (declare it in the vocabulary)"
