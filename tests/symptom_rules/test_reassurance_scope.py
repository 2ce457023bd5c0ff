"""A reassuring word about one finding never lowers the level that another finding sets.

For every text in the rule case files, the evaluation sets, the held-out vignettes and the
red-team files: triage the whole text, then triage it with the reassuring clauses and the
clauses they are about taken out. The whole message may never come out less urgent than
its unreassured part alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symptom_rules.casefiles import all_case_files
from symptom_rules.extraction.pipeline import _clause_numbers

ROOT = Path(__file__).resolve().parents[2]
CASE_SETS = [
    *sorted((ROOT / "symptom_rules" / "cases").glob("*.jsonl")),
    *sorted((ROOT / "tests" / "heldout").glob("triage_*.jsonl")),
    *sorted((ROOT / "tests" / "heldout").glob("redteam_*.jsonl")),
]


def _texts() -> list[tuple[str, float | None]]:
    texts = {(c.text, c.age) for cases in all_case_files().values() for c in cases}
    for path in CASE_SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                texts.add((case["text"], case.get("age")))
    return sorted(texts, key=lambda t: (t[0], t[1] or 0))


def _without_reassuring_clauses(engine, text: str, reassuring) -> str:
    doc = engine.extractor.nlp(text)
    numbers = _clause_numbers(doc)
    own = {numbers[t.i] for f in reassuring for t in doc if t.idx == f.start}
    clauses = own | {f.clause for f in reassuring}
    return "".join(t.text_with_ws for t in doc if numbers[t.i] not in clauses).strip()


def _set_by_another_finding(engine, whole, part) -> bool:
    """Whether the part's level comes from a red flag or from a protocol other than those
    whose complaint the reassurance is about (the same complaint told twice is not
    "another finding"). A reassuring clause is about a complaint when it names the
    complaint or answers one of its questions ("burnt at the beach. no blisters, drinking
    plenty" answers the burn protocol's own questions)."""
    about = {f.clause for f in whole.findings if f.id == "reassuring"}
    reassured = {f.id for f in whole.findings if f.clause in about}
    complaints = {
        p.id
        for p in engine.rules.protocols
        if (p.triggers.finding_ids() | {q.finding for q in p.questions if q.finding}) & reassured
    }
    return any(r.startswith("RF-") for r in part.rule_ids) or bool(set(part.protocols) - complaints)


def _rank(result) -> int:
    return result.disposition.rank if result.disposition else -1


def test_no_reassuring_word_lowers_the_level_another_finding_sets(engine):
    lowered = []
    for text, age in _texts():
        whole = engine.triage(text, age_years=age, ask=False)
        reassuring = [f for f in whole.findings if f.id == "reassuring" and f.status == "present"]
        if not reassuring:
            continue
        rest = _without_reassuring_clauses(engine, text, reassuring)
        if not rest:
            continue
        part = engine.triage(rest, age_years=age, ask=False)
        if not part.present:
            continue  # nothing left to triage: the general protocol's default says nothing
        if _rank(whole) < _rank(part) and _set_by_another_finding(engine, whole, part):
            lowered.append((text, str(whole.disposition), str(part.disposition)))
    assert not lowered, lowered[:5]


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        ("my back hurts a bit, mild, but my husband says I've been confused all day", 3),
        ("mild sore throat but my leg is red, hot and swollen", 2),
    ],
)
def test_examples_of_reassurance_kept_to_its_own_finding(engine, text, at_least):
    assert engine.triage(text, ask=False).disposition.rank >= at_least
