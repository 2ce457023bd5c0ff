"""Reading YAML while keeping line numbers, so load errors can point at the exact entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import RuleFileError


@dataclass(frozen=True)
class Source:
    """Where a YAML node comes from: a file and the rule it belongs to (if known)."""

    path: Path
    rule_id: str | None = None

    def error(self, node: Node, problem: str) -> RuleFileError:
        """An error located at ``node``."""
        return RuleFileError(self.path, node.start_mark.line + 1, self.rule_id, problem)

    def for_rule(self, rule_id: str | None) -> Source:
        """The same file, now inside rule ``rule_id``."""
        return Source(self.path, rule_id)


def compose_file(path: Path) -> Node:
    """Parse ``path`` into a YAML node tree; syntax errors become ``RuleFileError``."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise RuleFileError(path, line, None, f"invalid YAML: {exc.problem}") from None
    if node is None:
        raise RuleFileError(path, 1, None, "the file is empty")
    return node


def to_python(node: Node) -> Any:
    """Plain Python value of a node (strings, numbers, booleans, lists, dicts)."""
    return yaml.SafeLoader(  # a loader only to construct this subtree
        ""
    ).construct_object(node, deep=True)


def mapping_items(source: Source, node: Node, what: str) -> list[tuple[str, Node, Node]]:
    """The ``(key, key_node, value_node)`` items of a mapping node, or an error."""
    if not isinstance(node, MappingNode):
        raise source.error(node, f"{what} must be a mapping")
    items = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise source.error(key_node, f"{what}: keys must be plain names")
        items.append((str(key_node.value), key_node, value_node))
    return items


def sequence_items(source: Source, node: Node, what: str) -> list[Node]:
    """The item nodes of a sequence node, or an error."""
    if not isinstance(node, SequenceNode):
        raise source.error(node, f"{what} must be a list")
    return list(node.value)


def scalar_text(source: Source, node: Node, what: str) -> str:
    """A non-empty string scalar, or an error."""
    value = to_python(node)
    if not isinstance(value, str) or not value.strip():
        raise source.error(node, f"{what} must be a non-empty text")
    return value.strip()


def check_keys(
    source: Source,
    node: Node,
    items: list[tuple[str, Node, Node]],
    *,
    required: set[str],
    optional: set[str],
    what: str,
) -> None:
    """Reject unknown keys and report missing required ones."""
    present = {key for key, _, _ in items}
    for key, key_node, _ in items:
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise source.error(key_node, f"{what}: unknown key {key!r} (allowed: {allowed})")
    missing = sorted(required - present)
    if missing:
        raise source.error(node, f"{what}: missing {', '.join(missing)}")
