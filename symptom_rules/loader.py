"""Load red-flag rules and complaint protocols, rejecting anything the vocabulary lacks.

Every error names the file, the line and the rule id (``RuleFileError``).
"""

from __future__ import annotations

import re
from pathlib import Path

from yaml.nodes import Node

from .conditions import parse_condition
from .errors import RuleFileError
from .levels import Level
from .model import Protocol, Question, Rule, RuleSet, Unanswered
from .vocabulary import Vocabulary, load_vocabulary
from .yaml_nodes import (
    Source,
    check_keys,
    compose_file,
    mapping_items,
    scalar_text,
    sequence_items,
    to_python,
)

RULE_ID = re.compile(r"^(RF|P)-[A-Z0-9]+(-[A-Z0-9]+)+$")
PROTOCOL_ID = re.compile(r"^P-[A-Z0-9]+$")
RULE_REQUIRED = {"id", "description", "rationale", "source", "explain", "when", "then"}
NOTIFY = ("crisis", "poison")
PROTOCOL_REQUIRED = {
    "id",
    "complaint",
    "description",
    "source",
    "triggers",
    "questions",
    "unanswered",
    "rules",
}


def load_rule_set(data_dir: Path) -> RuleSet:
    """Load ``vocabulary/``, ``red_flags/`` and ``protocols/`` under ``data_dir``."""
    vocab = load_vocabulary(data_dir / "vocabulary")
    seen: dict[str, tuple[Path, int]] = {}
    red_flags: list[Rule] = []
    for path in sorted((data_dir / "red_flags").glob("*.yaml")):
        red_flags.extend(load_red_flag_file(path, vocab, seen))
    protocols = [
        load_protocol_file(path, vocab, seen)
        for path in sorted((data_dir / "protocols").glob("*.yaml"))
    ]
    by_id = {r.id: r for r in red_flags}
    by_id.update({r.id: r for p in protocols for r in p.rules})
    return RuleSet(vocab, tuple(red_flags), tuple(protocols), by_id)


def load_red_flag_file(
    path: Path, vocab: Vocabulary, seen: dict[str, tuple[Path, int]] | None = None
) -> list[Rule]:
    """Parse a red-flag file: a mapping with one key, ``rules``, holding a list of rules."""
    source = Source(path)
    root = compose_file(path)
    items = mapping_items(source, root, "a red-flag file")
    check_keys(source, root, items, required={"rules"}, optional=set(), what="a red-flag file")
    seen = {} if seen is None else seen
    return [
        parse_rule(source, node, vocab, seen)
        for node in sequence_items(source, items[0][2], "rules")
    ]


def load_protocol_file(
    path: Path, vocab: Vocabulary, seen: dict[str, tuple[Path, int]] | None = None
) -> Protocol:
    """Parse a protocol file: one protocol with its questions, rules and unanswered policy."""
    source = Source(path)
    root = compose_file(path)
    items = mapping_items(source, root, "a protocol file")
    check_keys(source, root, items, required=PROTOCOL_REQUIRED, optional=set(), what="a protocol")
    spec = {key: value for key, _, value in items}
    protocol_id = scalar_text(source, spec["id"], "id")
    source = source.for_rule(protocol_id)
    seen = {} if seen is None else seen
    if not PROTOCOL_ID.match(protocol_id):
        raise source.error(spec["id"], f"protocol id {protocol_id!r} must look like P-HEAD")
    questions = tuple(
        _question(source, node, vocab, seen)
        for node in sequence_items(source, spec["questions"], "questions")
    )
    rules = tuple(
        parse_rule(source, node, vocab, seen, protocol=protocol_id)
        for node in sequence_items(source, spec["rules"], "rules")
    )
    return Protocol(
        id=protocol_id,
        complaint=scalar_text(source, spec["complaint"], "complaint"),
        description=scalar_text(source, spec["description"], "description"),
        source=scalar_text(source, spec["source"], "source"),
        triggers=parse_condition(source, spec["triggers"], vocab),
        questions=questions,
        rules=rules,
        unanswered=_unanswered(source, spec["unanswered"], seen),
        path=path,
    )


def parse_rule(
    source: Source,
    node: Node,
    vocab: Vocabulary,
    seen: dict[str, tuple[Path, int]],
    *,
    protocol: str | None = None,
) -> Rule:
    """Parse one rule node; the id is read first so every later error can name it."""
    items = mapping_items(source, node, "a rule")
    spec = {key: value for key, _, value in items}
    rule_id = to_python(spec["id"]) if "id" in spec else None
    source = source.for_rule(str(rule_id) if rule_id else None)
    check_keys(source, node, items, required=RULE_REQUIRED, optional={"notify"}, what="a rule")
    rule_id = scalar_text(source, spec["id"], "id")
    _claim_id(source, spec["id"], rule_id, seen)
    if protocol is None and not rule_id.startswith("RF-"):
        raise source.error(spec["id"], "red-flag rule ids start with RF-")
    if protocol is not None and not rule_id.startswith(protocol + "-"):
        raise source.error(spec["id"], f"rules of protocol {protocol} have ids {protocol}-...")
    notify: tuple[str, ...] = ()
    if "notify" in spec:
        notify = tuple(
            scalar_text(source, n, "notify")
            for n in sequence_items(source, spec["notify"], "notify")
        )
        for name, n in zip(notify, sequence_items(source, spec["notify"], "notify"), strict=True):
            if name not in NOTIFY:
                raise source.error(n, f"unknown notify {name!r}; use {', '.join(NOTIFY)}")
    return Rule(
        id=rule_id,
        description=scalar_text(source, spec["description"], "description"),
        rationale=scalar_text(source, spec["rationale"], "rationale"),
        source=scalar_text(source, spec["source"], "source"),
        explain=scalar_text(source, spec["explain"], "explain"),
        when=parse_condition(source, spec["when"], vocab),
        then=_level(source, spec["then"]),
        notify=notify,
        protocol=protocol,
        path=source.path,
        line=node.start_mark.line + 1,
    )


def _level(source: Source, node: Node) -> Level:
    try:
        return Level.parse(scalar_text(source, node, "level"))
    except ValueError as exc:
        raise source.error(node, str(exc)) from None


def _claim_id(source: Source, node: Node, rule_id: str, seen: dict[str, tuple[Path, int]]) -> None:
    if not RULE_ID.match(rule_id):
        raise source.error(node, f"id {rule_id!r} must look like RF-CHEST-001 or P-HEAD-001")
    if rule_id in seen:
        path, line = seen[rule_id]
        raise source.error(node, f"id {rule_id} is already used at {path.name}:{line}")
    seen[rule_id] = (source.path, node.start_mark.line + 1)


def _question(source: Source, node: Node, vocab: Vocabulary, seen: dict) -> Question:  # type: ignore[type-arg]
    items = mapping_items(source, node, "a question")
    check_keys(
        source,
        node,
        items,
        required={"id", "text"},
        optional={"finding", "fact", "unanswered_up_to"},
        what="a question",
    )
    spec = {key: value for key, _, value in items}
    question_id = scalar_text(source, spec["id"], "question id")
    if ("finding" in spec) == ("fact" in spec):
        raise source.error(node, f"question {question_id}: give exactly one of finding or fact")
    finding = scalar_text(source, spec["finding"], "finding") if "finding" in spec else None
    fact = scalar_text(source, spec["fact"], "fact") if "fact" in spec else None
    if finding is not None and finding not in vocab.findings:
        raise source.error(spec["finding"], f"question {question_id}: unknown finding {finding!r}")
    if fact is not None and fact not in vocab.facts:
        raise source.error(spec["fact"], f"question {question_id}: unknown fact {fact!r}")
    key = f"question:{question_id}"
    if key in seen:
        raise source.error(spec["id"], f"question id {question_id} is used twice")
    seen[key] = (source.path, node.start_mark.line + 1)
    up_to = _level(source, spec["unanswered_up_to"]) if "unanswered_up_to" in spec else None
    return Question(question_id, scalar_text(source, spec["text"], "text"), finding, fact, up_to)


def _unanswered(source: Source, node: Node, seen: dict[str, tuple[Path, int]]) -> Unanswered:
    items = mapping_items(source, node, "unanswered")
    check_keys(
        source,
        node,
        items,
        required={"id", "up_to", "rationale"},
        optional={"reassured_up_to"},
        what="unanswered",
    )
    spec = {key: value for key, _, value in items}
    unanswered_id = scalar_text(source, spec["id"], "id")
    _claim_id(source, spec["id"], unanswered_id, seen)
    reassured = spec.get("reassured_up_to")
    return Unanswered(
        unanswered_id,
        _level(source, spec["up_to"]),
        scalar_text(source, spec["rationale"], "rationale"),
        _level(source, reassured) if reassured is not None else None,
    )


__all__ = ["RuleFileError", "load_protocol_file", "load_red_flag_file", "load_rule_set"]
