"""Evaluate triage on a JSONL case file: ``python -m symptom_rules.evaluate CASES.jsonl``.

Each line is ``{"id", "text", "expected", "age"?, "sex"?}``; ``expected`` is one of the five
levels or one of ``emergent``, ``non_emergent``, ``self_care``. Every text is triaged as a
first message with no follow-up answers (the engine does not ask; it errs to the safer
level). Prints one line per case, confusion matrices, accuracy (overall, on the five-level
cases, and with every level collapsed to the coarse three) and under/over-triage counts;
``--json FILE`` writes the cases and the summary. Exit status 0, or 2 for a malformed file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .casefiles import jsonl_objects
from .engine import Engine, default_engine
from .errors import CaseFileError
from .levels import COARSE_LEVELS, LEVELS, Level

COARSE_RANK = {"emergent": 2, "non_emergent": 1, "self_care": 0}


@dataclass(frozen=True)
class Case:
    """One evaluation case."""

    id: str
    text: str
    expected: str
    age: float | None = None
    sex: str | None = None

    @property
    def coarse_expected(self) -> bool:
        """True when ``expected`` is one of the coarse groups (``self_care`` counts as both)."""
        return self.expected in ("emergent", "non_emergent")


def read_cases(path: Path) -> list[Case]:
    """Parse the JSONL file; raises ``CaseFileError`` naming the bad line."""
    allowed = {level.value for level in LEVELS} | set(COARSE_LEVELS)
    cases: list[Case] = []
    seen: set[str] = set()
    for number, raw in jsonl_objects(path):
        for key in ("id", "text", "expected"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise CaseFileError(path, number, f"missing or empty text field {key!r}")
        if raw["expected"] not in allowed:
            raise CaseFileError(
                path, number, f"expected {raw['expected']!r} is not one of {sorted(allowed)}"
            )
        age = raw.get("age")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int | float)):
            raise CaseFileError(path, number, "age must be a number of years")
        if raw["id"] in seen:
            raise CaseFileError(path, number, f"duplicate id {raw['id']!r}")
        seen.add(raw["id"])
        sex = raw.get("sex")
        cases.append(Case(raw["id"], raw["text"], raw["expected"], age, sex))
    return cases


def expected_rank(expected: str) -> tuple[int, bool]:
    """Rank of the expected value, on the coarse (True) or five-level (False) scale."""
    if expected in ("emergent", "non_emergent"):
        return COARSE_RANK[expected], True
    return Level(expected).rank, False


def compare(expected: str, predicted: Level) -> int:
    """-1 under-triage, 0 correct, +1 over-triage."""
    rank, coarse = expected_rank(expected)
    actual = COARSE_RANK[predicted.coarse] if coarse else predicted.rank
    return (actual > rank) - (actual < rank)


def evaluate(cases: list[Case], engine: Engine) -> dict[str, Any]:
    """Triage every case and build the report (cases and summary)."""
    rows: list[dict[str, Any]] = []
    for case in cases:
        result = engine.triage(case.text, age_years=case.age, sex=case.sex, ask=False)
        predicted = result.disposition or Level.CONSULTATION
        rows.append(
            {
                "id": case.id,
                "expected": case.expected,
                "predicted": predicted.value,
                "rules": list(result.rule_ids),
                "outcome": compare(case.expected, predicted),
            }
        )
    outcomes = Counter(row["outcome"] for row in rows)
    five = _five_level_rows(rows)
    coarse_correct = sum(_coarse(r["expected"]) == _coarse(r["predicted"]) for r in rows)
    summary: dict[str, Any] = {
        "total": len(rows),
        "correct": outcomes[0],
        "under_triage": outcomes[-1],
        "over_triage": outcomes[1],
        "accuracy": _ratio(outcomes[0], len(rows)),
        "accuracy_five_levels": _ratio(sum(r["outcome"] == 0 for r in five), len(five)),
        "accuracy_coarse": _ratio(coarse_correct, len(rows)),
        "emergencies_missed": sum(
            1
            for r in rows
            if r["expected"] in ("emergency_ambulance", "emergency", "emergent")
            and not Level(r["predicted"]).is_emergency
        ),
        "emergencies_sent_to_self_care": sum(
            1
            for r in rows
            if r["expected"] in ("emergency_ambulance", "emergency", "emergent")
            and r["predicted"] == "self_care"
        ),
        "confusion": _matrix(five, [lv.value for lv in LEVELS], lambda v: v),
    }
    if any(r["expected"] in ("emergent", "non_emergent") for r in rows):
        summary["confusion_coarse"] = _matrix(rows, list(COARSE_LEVELS), _coarse)
    return {"cases": rows, "summary": summary}


def _five_level_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows scored on five levels; in a coarse-only file ``self_care`` is a coarse label."""
    five = {level.value for level in LEVELS}
    uses_coarse = any(r["expected"] in ("emergent", "non_emergent") for r in rows)
    uses_five = any(r["expected"] in five - {"self_care"} for r in rows)
    if uses_coarse and not uses_five:
        return []
    return [r for r in rows if r["expected"] in five]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _coarse(value: str) -> str:
    return value if value in COARSE_LEVELS else Level(value).coarse


def _matrix(rows: list[dict[str, Any]], labels: list[str], key: Any) -> dict[str, dict[str, int]]:
    matrix = {expected: dict.fromkeys(labels, 0) for expected in labels}
    for row in rows:
        matrix[key(row["expected"])][key(row["predicted"])] += 1
    return matrix


def format_matrix(matrix: dict[str, dict[str, int]], title: str) -> str:
    """A plain-text confusion matrix (rows expected, columns predicted)."""
    labels = list(matrix)
    width = max(len(label) for label in labels) + 2
    lines = [
        title,
        "expected \\ predicted".ljust(width + 2) + "".join(lb[:10].rjust(12) for lb in labels),
    ]
    for expected in labels:
        cells = "".join(str(matrix[expected][p]).rjust(12) for p in labels)
        lines.append(expected.ljust(width + 2) + cells)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m symptom_rules.evaluate", description=__doc__)
    parser.add_argument("cases", type=Path, help="JSONL file of cases")
    parser.add_argument("--json", type=Path, help="write cases and summary to this file")
    args = parser.parse_args(argv)
    try:
        cases = read_cases(args.cases)
    except CaseFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(cases, default_engine())
    marks = {-1: "UNDER", 0: "ok", 1: "over"}
    for row in report["cases"]:
        print(
            f"{marks[row['outcome']]:5} {row['id']}: expected {row['expected']}, "
            f"predicted {row['predicted']} [{', '.join(row['rules'])}]"
        )
    summary = report["summary"]
    print()
    if summary["confusion"] and any(any(r.values()) for r in summary["confusion"].values()):
        print(format_matrix(summary["confusion"], "Confusion matrix (five levels)"))
    if "confusion_coarse" in summary:
        print(format_matrix(summary["confusion_coarse"], "Confusion matrix (coarse levels)"))
    print(
        f"\naccuracy {summary['accuracy']}  five levels {summary['accuracy_five_levels']}  "
        f"coarse {summary['accuracy_coarse']}"
    )
    print(
        f"cases {summary['total']}  correct {summary['correct']}  "
        f"under-triage {summary['under_triage']}  over-triage {summary['over_triage']}  "
        f"emergencies missed {summary['emergencies_missed']}  "
        f"emergencies sent to self care {summary['emergencies_sent_to_self_care']}"
    )
    if args.json:
        cases_out = [{k: v for k, v in row.items() if k != "outcome"} for row in report["cases"]]
        args.json.write_text(json.dumps({"cases": cases_out, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
