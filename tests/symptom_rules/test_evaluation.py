"""The team evaluation set and the stable ``python -m symptom_rules.evaluate`` interface."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from symptom_rules.evaluate import evaluate, main, read_cases

EVALUATION = Path(__file__).resolve().parents[2] / "symptom_rules" / "cases" / "evaluation.jsonl"


@pytest.fixture(scope="module")
def report(engine):
    return evaluate(read_cases(EVALUATION), engine)


def test_the_evaluation_set_covers_every_level_with_150_or_more_cases():
    cases = read_cases(EVALUATION)
    assert len(cases) >= 150
    assert {c.expected for c in cases} >= {
        "emergency_ambulance",
        "emergency",
        "consultation_24",
        "consultation",
        "self_care",
    }


def test_every_emergency_in_the_evaluation_set_is_recognised(report):
    assert report["summary"]["emergencies_missed"] == 0


def test_no_emergency_is_ever_sent_to_self_care(report):
    assert report["summary"]["emergencies_sent_to_self_care"] == 0
    for row in report["cases"]:
        if row["expected"] in ("emergency_ambulance", "emergency"):
            assert row["predicted"] != "self_care", row


def test_every_prediction_is_one_of_the_five_levels_with_its_rules(report):
    levels = {"emergency_ambulance", "emergency", "consultation_24", "consultation", "self_care"}
    for row in report["cases"]:
        assert row["predicted"] in levels
        assert row["rules"], row


def test_coarse_labels_are_scored_on_the_coarse_scale(engine, tmp_path):
    path = tmp_path / "coarse.jsonl"
    path.write_text(
        '{"id": "a", "text": "I cannot breathe", "expected": "emergent"}\n'
        '{"id": "b", "text": "I have a cold", "expected": "self_care"}\n'
        '{"id": "c", "text": "burning when I pee", "expected": "non_emergent", '
        '"age": 30, "sex": "female"}\n'
    )
    result = evaluate(read_cases(path), engine)
    assert result["summary"]["under_triage"] == 0
    assert "confusion_coarse" in result["summary"]
    assert result["summary"]["confusion_coarse"]["emergent"]["emergent"] == 1


def test_the_command_prints_cases_and_a_matrix_and_writes_json(tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_text(
        '{"id": "x1", "text": "worst headache of my life", "expected": "emergency_ambulance"}\n'
    )
    out = tmp_path / "out.json"
    assert main([str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "x1" in printed and "Confusion matrix" in printed and "under-triage 0" in printed
    data = json.loads(out.read_text())
    case = data["cases"][0]
    assert set(case) == {"id", "expected", "predicted", "rules"}
    assert case["predicted"] == "emergency_ambulance"
    assert case["rules"][0] == "RF-HEAD-001"
    assert data["summary"]["total"] == 1


def test_a_malformed_line_is_reported_with_its_number(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "cold", "expected": "self_care"}\n{"id": "b", "text": \n')
    assert main([str(path)]) == 2
    assert f"{path}:2:" in capsys.readouterr().err


def test_an_unknown_expected_level_is_reported(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "cold", "expected": "urgent"}\n')
    assert main([str(path)]) == 2
    assert ":1:" in capsys.readouterr().err


def test_the_module_runs_from_the_command_line(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": "a", "text": "I have a cold", "expected": "self_care"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "symptom_rules.evaluate", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ok    a:" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("name", ["holdout.jsonl", "holdout_2.jsonl", "holdout_3.jsonl"])
def test_the_held_out_sets_miss_no_emergency_now(engine, name):
    summary = evaluate(read_cases(EVALUATION.with_name(name)), engine)["summary"]
    assert summary["emergencies_missed"] == 0
    assert summary["emergencies_sent_to_self_care"] == 0


def test_a_coarse_only_file_is_scored_on_the_coarse_scale_alone(engine, tmp_path):
    path = tmp_path / "coarse.jsonl"
    path.write_text(
        '{"id": "a", "text": "I have a cold", "expected": "self_care"}\n'
        '{"id": "b", "text": "crushing chest pain", "expected": "emergent"}\n'
    )
    summary = evaluate(read_cases(path), engine)["summary"]
    assert summary["accuracy_five_levels"] is None
    assert summary["accuracy_coarse"] == 1.0
