"""The declared vocabulary: findings (with their words), facts, body sites and operators.

Rules may only name what is declared here; the loader rejects anything else. Terms use
the small pattern language of ``terms.py``. The vocabulary
lives in ``data/vocabulary/*.yaml`` (split by topic) and is merged into one ``Vocabulary``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import Node

from .errors import RuleFileError
from .terms import TermSyntaxError, parse_term
from .yaml_nodes import (
    Source,
    check_keys,
    compose_file,
    mapping_items,
    scalar_text,
    sequence_items,
    to_python,
)

FACT_TYPES = ("number", "text")
SECTIONS = {"operators", "facts", "sites", "findings", "spelling", "ignore"}
PAIN_WORDS = "(pain|pains|ache|aches|aching|cramp|cramps|cramping|hurts|hurt|hurting|sore|soreness)"
OWNER = "(my|the|his|her|their|your|our)?"


@dataclass(frozen=True)
class FindingDef:
    """One declared finding: a symptom, sign, risk state or qualifier (like ``severe``).

    ``implies`` names findings present whenever this one is; ``excludes`` names findings
    this one rules out ("breathing fine" excludes ``breathless``), which count as denied.
    """

    id: str
    label: str
    terms: tuple[str, ...]
    site: str | None = None
    implies: tuple[str, ...] = ()
    path: Path | None = None
    line: int = 0
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactDef:
    """A declared fact: a value read from numbers in the text or from the caller."""

    id: str
    type: str
    description: str
    unit: str | None = None


@dataclass
class Vocabulary:
    """Everything a rule may name, and the words that express each finding."""

    operators: dict[str, str] = field(default_factory=dict)
    facts: dict[str, FactDef] = field(default_factory=dict)
    sites: dict[str, tuple[str, ...]] = field(default_factory=dict)
    findings: dict[str, FindingDef] = field(default_factory=dict)
    spelling: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()


def site_pain_terms(words: tuple[str, ...]) -> list[str]:
    """The generated lay phrases for pain at a body site (``my tummy hurts``...)."""
    site = "(" + "|".join(words) + ")"
    return [
        f"{site} {PAIN_WORDS}",
        f"pain in {OWNER} {site}",
        f"{site} (is|are|was|has|have|has been|keeps) (really|so|very)? {PAIN_WORDS}",
        # "killing" only: "killing me" is left to overlap as severity ("severe" in core.yaml)
        f"{site} (is|are|was) killing",
        f"{OWNER} {site} (really|so)? (hurts|hurt|aches|is painful|painful)",
    ]


def load_vocabulary(directory: Path) -> Vocabulary:
    """Merge every ``*.yaml`` in ``directory`` into one vocabulary; names must be unique."""
    vocab = Vocabulary()
    pain_sites: list[tuple[str, str, Source, Node]] = []
    ignore: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        source = Source(path)
        root = compose_file(path)
        for key, key_node, value in mapping_items(source, root, "a vocabulary file"):
            if key not in SECTIONS:
                raise source.error(key_node, f"unknown vocabulary section {key!r}")
            if key == "operators":
                for name, name_node, text in mapping_items(source, value, "operators"):
                    _unique(source, name_node, name, vocab.operators, "operator")
                    vocab.operators[name] = scalar_text(source, text, f"operator {name}")
            elif key == "facts":
                for name, name_node, spec in mapping_items(source, value, "facts"):
                    _unique(source, name_node, name, vocab.facts, "fact")
                    vocab.facts[name] = _fact(source, name, spec)
            elif key == "sites":
                for name, name_node, words in mapping_items(source, value, "sites"):
                    _unique(source, name_node, name, vocab.sites, "site")
                    vocab.sites[name] = tuple(
                        scalar_text(source, w, f"site {name}")
                        for w in sequence_items(source, words, f"site {name}")
                    )
            elif key == "spelling":
                for wrong, _, right in mapping_items(source, value, "spelling"):
                    vocab.spelling[wrong.lower()] = scalar_text(source, right, wrong).lower()
            elif key == "ignore":
                ignore.extend(
                    scalar_text(source, n, "ignore") for n in sequence_items(source, value, key)
                )
            else:
                for name, name_node, spec in mapping_items(source, value, "findings"):
                    _unique(source, name_node, name, vocab.findings, "finding")
                    finding, pain_site = _finding(source, name, name_node, spec)
                    vocab.findings[name] = finding
                    if pain_site:
                        pain_sites.append((name, pain_site, source, spec))
    for name, site, source, node in pain_sites:
        if site not in vocab.sites:
            raise source.error(node, f"finding {name}: unknown site {site!r}")
        finding = vocab.findings[name]
        extra = tuple(site_pain_terms(vocab.sites[site]))
        vocab.findings[name] = FindingDef(
            finding.id,
            finding.label,
            finding.terms + extra,
            site,
            finding.implies,
            finding.path,
            finding.line,
            finding.excludes,
        )
    for finding in vocab.findings.values():
        for verb, names in (("implies", finding.implies), ("excludes", finding.excludes)):
            for other in names:
                if other not in vocab.findings:
                    raise RuleFileError(
                        finding.path or directory,
                        finding.line,
                        None,
                        f"finding {finding.id} {verb} undeclared finding {other!r}",
                    )
    vocab.ignore = tuple(ignore)
    return vocab


def _unique(source: Source, node: Node, name: str, table: dict, kind: str) -> None:  # type: ignore[type-arg]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise source.error(node, f"{kind} name {name!r} must be lower_snake_case")
    if name in table:
        raise source.error(node, f"{kind} {name!r} is declared twice")


def _fact(source: Source, name: str, node: Node) -> FactDef:
    items = mapping_items(source, node, f"fact {name}")
    check_keys(
        source,
        node,
        items,
        required={"type", "description"},
        optional={"unit"},
        what=f"fact {name}",
    )
    spec = to_python(node)
    if spec["type"] not in FACT_TYPES:
        raise source.error(node, f"fact {name}: type must be one of {', '.join(FACT_TYPES)}")
    return FactDef(name, spec["type"], str(spec["description"]), spec.get("unit"))


def _finding(source: Source, name: str, name_node: Node, node: Node) -> tuple[FindingDef, str]:
    items = mapping_items(source, node, f"finding {name}")
    check_keys(
        source,
        node,
        items,
        required={"label"},
        optional={"terms", "site", "pain_site", "implies", "excludes"},
        what=f"finding {name}",
    )
    spec = dict((k, v) for k, _, v in items)
    terms = _terms(source, name, spec, "terms")
    pain_site = scalar_text(source, spec["pain_site"], "pain_site") if "pain_site" in spec else ""
    site = scalar_text(source, spec["site"], "site") if "site" in spec else (pain_site or None)
    if not terms and not pain_site:
        raise source.error(node, f"finding {name}: needs terms or a pain_site")
    implies = _names(source, name, spec, "implies")
    excludes = _names(source, name, spec, "excludes")
    label = scalar_text(source, spec["label"], f"finding {name} label")
    line = name_node.start_mark.line + 1
    finding = FindingDef(name, label, terms, site, implies, source.path, line, excludes)
    return finding, pain_site


def _names(source: Source, name: str, spec: dict[str, Node], key: str) -> tuple[str, ...]:
    """A list of finding names under ``key`` (checked against the vocabulary later)."""
    if key not in spec:
        return ()
    nodes = sequence_items(source, spec[key], f"finding {name} {key}")
    return tuple(scalar_text(source, n, key) for n in nodes)


def _terms(source: Source, name: str, spec: dict[str, Node], key: str) -> tuple[str, ...]:
    """The checked term list under ``key`` (empty when absent)."""
    if key not in spec:
        return ()
    nodes = sequence_items(source, spec[key], f"finding {name} {key}")
    terms = tuple(scalar_text(source, n, f"finding {name} term") for n in nodes)
    for term, term_node in zip(terms, nodes, strict=True):
        try:
            parse_term(term)
        except TermSyntaxError as exc:
            raise source.error(term_node, f"finding {name}: {exc}") from None
    return terms
