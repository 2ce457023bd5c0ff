"""Score the red-flag screen on a red-team file: ``python -m symptom_rules.redteam FILE``.

Each line is ``{"id", "text", "expected": "emergency" | "no_alarm", "age"?, "category"?}``.
Every text goes through ``screen()`` exactly as the hub calls it; an ``emergency`` line is
caught when the screen says ``is_emergency``, a ``no_alarm`` line is a false alarm when it
does. Prints the catch rate, the false-alarm rate and the figures per category; by default
no text is printed, so a held-out file can be scored without being read. ``--show-misses``
lists the wrong lines with the rules that fired (only for files the team may read).
Exit status 0, 1 when ``--require`` targets are missed, 2 for a malformed file.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .casefiles import jsonl_objects
from .engine import Engine, default_engine
from .errors import CaseFileError

EXPECTED = ("emergency", "no_alarm")


@dataclass(frozen=True)
class RedTeamCase:
    """One red-team line."""

    id: str
    text: str
    expected: str
    category: str
    age: float | None


@dataclass(frozen=True)
class Score:
    """Catch and false-alarm figures of one run."""

    emergencies: int
    caught: int
    harmless: int
    false_alarms: int
    misses: tuple[tuple[RedTeamCase, tuple[str, ...]], ...]

    @property
    def catch_rate(self) -> float:
        """Share of emergency lines caught."""
        return self.caught / self.emergencies if self.emergencies else 1.0

    @property
    def false_alarm_rate(self) -> float:
        """Share of no-alarm lines that fired."""
        return self.false_alarms / self.harmless if self.harmless else 0.0


def read_cases(path: Path) -> list[RedTeamCase]:
    """Parse the file; raises ``CaseFileError`` naming the first bad line."""
    cases: list[RedTeamCase] = []
    for number, raw in jsonl_objects(path):
        if not isinstance(raw.get("text"), str):
            raise CaseFileError(path, number, "each line needs a text")
        if raw.get("expected") not in EXPECTED:
            raise CaseFileError(path, number, f"expected must be one of {EXPECTED}")
        age = raw.get("age")
        if age is not None and not isinstance(age, int | float):
            raise CaseFileError(path, number, "age must be a number of years")
        cases.append(
            RedTeamCase(
                str(raw.get("id", number)),
                raw["text"],
                raw["expected"],
                str(raw.get("category", "")),
                float(age) if age is not None else None,
            )
        )
    return cases


def score(cases: list[RedTeamCase], engine: Engine) -> tuple[Score, Counter[tuple[str, bool]]]:
    """Screen every case; returns the score and (category, right) counts."""
    by_category: Counter[tuple[str, bool]] = Counter()
    misses = []
    caught = false_alarms = 0
    for case in cases:
        result = engine.screen(case.text, age_years=case.age)
        fired = result.is_emergency
        right = fired == (case.expected == "emergency")
        by_category[(case.category, right)] += 1
        if case.expected == "emergency" and fired:
            caught += 1
        if case.expected == "no_alarm" and fired:
            false_alarms += 1
        if not right:
            misses.append((case, result.rule_ids))
    emergencies = sum(1 for c in cases if c.expected == "emergency")
    total = Score(emergencies, caught, len(cases) - emergencies, false_alarms, tuple(misses))
    return total, by_category


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--show-misses", action="store_true", help="print the wrong lines")
    parser.add_argument("--require", nargs=2, type=float, metavar=("CATCH", "FALSE_ALARM"))
    args = parser.parse_args(argv)
    try:
        cases = read_cases(args.file)
    except CaseFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    result, by_category = score(cases, default_engine())
    print(
        f"emergencies caught: {result.caught}/{result.emergencies} ({100 * result.catch_rate:.1f}%)"
    )
    print(
        f"false alarms: {result.false_alarms}/{result.harmless} "
        f"({100 * result.false_alarm_rate:.1f}%)"
    )
    for category in sorted({c for c, _ in by_category}):
        right, wrong = by_category[(category, True)], by_category[(category, False)]
        print(f"  {category or '(none)'}: {right}/{right + wrong} right")
    if args.show_misses:
        for case, rule_ids in result.misses:
            fired = ",".join(rule_ids) or "-"
            print(f"MISS {case.id} [{case.expected}/{case.category}] {fired}: {case.text}")
    if args.require:
        catch, false_alarm = args.require
        if result.catch_rate < catch or result.false_alarm_rate > false_alarm:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
