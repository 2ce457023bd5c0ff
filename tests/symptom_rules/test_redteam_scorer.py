"""The red-team scorer: catch and false-alarm rates, clear errors for a malformed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symptom_rules.errors import CaseFileError
from symptom_rules.redteam import main, read_cases, score


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_rates_count_caught_emergencies_and_false_alarms(engine, tmp_path):
    path = _write(
        tmp_path / "rt.jsonl",
        [
            {"id": "a", "text": "crushing chest pain and sweating", "expected": "emergency"},
            {"id": "b", "text": "can I book a flu jab", "expected": "emergency"},
            {"id": "c", "text": "is Dr Stroke in on Monday?", "expected": "no_alarm"},
            {"id": "d", "text": "my dad is having a stroke", "expected": "no_alarm"},
        ],
    )
    result, by_category = score(read_cases(path), engine)
    assert (result.caught, result.emergencies) == (1, 2)
    assert (result.false_alarms, result.harmless) == (1, 2)
    assert [case.id for case, _ in result.misses] == ["b", "d"]
    assert sum(by_category.values()) == 4


def test_the_command_prints_no_text_unless_asked_and_exits_1_below_the_targets(tmp_path, capsys):
    path = _write(
        tmp_path / "rt.jsonl",
        [{"id": "a", "text": "can I book a flu jab", "expected": "emergency", "category": "x"}],
    )
    assert main([str(path), "--require", "0.98", "0.03"]) == 1
    printed = capsys.readouterr().out
    assert "0/1" in printed and "flu jab" not in printed
    assert main([str(path), "--show-misses"]) == 0
    assert "flu jab" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"text": "x", "expected": "maybe"}', "expected must be"),
        ('{"expected": "emergency"}', "needs a text"),
        ('{"text": "x", "expected": "emergency", "age": "two"}', "age"),
    ],
)
def test_a_malformed_line_is_named(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "expected": "no_alarm"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=problem) as raised:
        read_cases(path)
    assert ":2" in str(raised.value) or "line 2" in str(raised.value)
