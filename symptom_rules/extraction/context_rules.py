"""ConText modifier rules (negation, history, hypothetical, other person) from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..yaml_nodes import Source, check_keys, compose_file, mapping_items, sequence_items, to_python

CATEGORIES = (
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HISTORICAL",
    "HYPOTHETICAL",
    "FAMILY",
    "OTHER_PERSON",
    "ANIMAL",
    "TERMINATE",
    "PSEUDO",
)
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")


@dataclass(frozen=True)
class ModifierDef:
    """One ConText modifier: literal phrase (or token pattern), category, direction, scope."""

    literal: str
    category: str
    direction: str
    max_scope: int | None = None
    pattern: list[dict[str, Any]] | None = None


def load_modifiers(path: Path) -> list[ModifierDef]:
    """Read ``context.yaml``: a ``modifiers`` list; each entry may give several literals."""
    source = Source(path)
    root = compose_file(path)
    items = mapping_items(source, root, "a context file")
    check_keys(source, root, items, required={"modifiers"}, optional=set(), what="context")
    modifiers: list[ModifierDef] = []
    for node in sequence_items(source, items[0][2], "modifiers"):
        entry = mapping_items(source, node, "a modifier")
        check_keys(
            source,
            node,
            entry,
            required={"category", "direction"},
            optional={"literals", "pattern", "name", "max_scope"},
            what="a modifier",
        )
        spec = to_python(node)
        if spec["category"] not in CATEGORIES or spec["direction"] not in DIRECTIONS:
            raise source.error(node, f"category must be in {CATEGORIES}, direction in {DIRECTIONS}")
        scope = spec.get("max_scope")
        if "pattern" in spec:
            modifiers.append(
                ModifierDef(
                    spec.get("name", "pattern"),
                    spec["category"],
                    spec["direction"],
                    scope,
                    spec["pattern"],
                )
            )
        for literal in spec.get("literals", []):
            if not isinstance(literal, str):
                raise source.error(
                    node, f"literal {literal!r} is not text; quote it (YAML reads no as false)"
                )
            modifiers.append(ModifierDef(literal, spec["category"], spec["direction"], scope))
    return modifiers
