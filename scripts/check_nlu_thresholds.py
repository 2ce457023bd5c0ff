"""Fail when language understanding falls below the agreed floors (``make test-nlu``).

Reads the reports that ``make test-nlu`` writes and exits 1 when a figure is below its floor:

- cross-validation (``rasa test nlu --cross-validation``, ``var/results/nlu-cv/``): recall of
  ``describe_symptoms`` and precision of ``out_of_scope`` on the team's training data;
- held-out set (``scripts/score_nlu_heldout.py --json``, ``var/results/nlu-heldout.json``):
  share of symptom descriptions parsed as ``describe_symptoms``, and share of other-domain
  requests parsed as a clinic task (a ceiling).

The floors are what the current model reaches minus a small margin (docs/understanding.md);
raise them when the figures improve, never lower them to make a change pass.

    python scripts/check_nlu_thresholds.py [--cv DIR] [--heldout FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CV_REPORT = ROOT / "var" / "results" / "nlu-cv" / "intent_report.json"
HELDOUT_REPORT = ROOT / "var" / "results" / "nlu-heldout.json"

CV_SYMPTOM_RECALL_MIN = 0.93
CV_OUT_OF_SCOPE_PRECISION_MIN = 0.82
HELDOUT_SYMPTOMS_MIN = 0.94
HELDOUT_OTHERS_TO_TASKS_MAX = 0.045


def check(cv: dict[str, dict[str, float]], heldout: dict[str, float]) -> list[str]:
    """The failures, as readable lines (empty when every floor holds)."""
    figures = [
        (
            "cross-validation describe_symptoms recall",
            cv["describe_symptoms"]["recall"],
            ">=",
            CV_SYMPTOM_RECALL_MIN,
        ),
        (
            "cross-validation out_of_scope precision",
            cv["out_of_scope"]["precision"],
            ">=",
            CV_OUT_OF_SCOPE_PRECISION_MIN,
        ),
        (
            "held-out symptoms -> describe_symptoms",
            heldout["symptoms_as_describe_symptoms"],
            ">=",
            HELDOUT_SYMPTOMS_MIN,
        ),
        (
            "held-out other domains -> clinic tasks",
            heldout["others_to_clinic_tasks"],
            "<=",
            HELDOUT_OTHERS_TO_TASKS_MAX,
        ),
    ]
    failures = []
    for name, value, op, bound in figures:
        ok = value >= bound if op == ">=" else value <= bound
        print(f"[nlu] {name}: {value:.3f} (must be {op} {bound:.3f}) {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{name} is {value:.3f}, must be {op} {bound:.3f}")
    return failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cv", type=Path, default=CV_REPORT)
    parser.add_argument("--heldout", type=Path, default=HELDOUT_REPORT)
    args = parser.parse_args(argv)
    cv = json.loads(args.cv.read_text(encoding="utf-8"))
    heldout = json.loads(args.heldout.read_text(encoding="utf-8"))
    failures = check(cv, heldout)
    for failure in failures:
        print(f"[nlu] FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
