"""Rule case files: for each rule id, cases that must and must not fire it.

``cases/rules/<RULE-ID>.yaml``::

    rule: RF-CHEST-001
    cases:
      - text: crushing chest pain going down my left arm
        fires: true
      - text: chest pain when I press on my ribs, no other symptoms
        fires: false
        mode: triage          # screen (default for RF-) | evaluation (default for P-) | triage
        answers: {q_chest_spread: "no"}
        age: 0.1              # age_years passed by the caller
        pregnant: true
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .engine import Engine
from .errors import CaseFileError

CASES_DIR = Path(__file__).resolve().parent / "cases" / "rules"
MODES = ("screen", "triage", "evaluation")
CASE_KEYS = {"text", "fires", "mode", "answers", "age", "sex", "pregnant", "note"}


@dataclass(frozen=True)
class RuleCase:
    """One case of a rule's case file."""

    rule_id: str
    text: str
    fires: bool
    mode: str
    answers: dict[str, str] = field(default_factory=dict)
    age: float | None = None
    sex: str | None = None
    pregnant: bool | None = None

    def fired_rules(self, engine: Engine) -> tuple[str, ...]:
        """Rule ids reported for this case in its mode."""
        if self.mode == "screen":
            return engine.screen(self.text, age_years=self.age).rule_ids
        result = engine.triage(
            self.text,
            answers=self.answers,
            age_years=self.age,
            sex=self.sex,
            pregnant=self.pregnant,
            ask=self.mode == "triage",
        )
        return result.rule_ids


def load_case_file(path: Path) -> list[RuleCase]:
    """Read one case file; the file name must be the rule id."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseFileError(
            path, getattr(getattr(exc, "problem_mark", None), "line", 0) + 1, "invalid YAML"
        ) from None
    if not isinstance(data, dict) or set(data) != {"rule", "cases"}:
        raise CaseFileError(path, 1, "a case file has exactly the keys rule and cases")
    rule_id = str(data["rule"])
    if path.stem != rule_id:
        raise CaseFileError(path, 1, f"file name must be {rule_id}.yaml")
    default_mode = "screen" if rule_id.startswith("RF-") else "evaluation"
    cases = []
    for raw in data["cases"] or []:
        if not isinstance(raw, dict) or not set(raw) <= CASE_KEYS or "text" not in raw:
            raise CaseFileError(path, 1, f"bad case {raw!r}; keys: {sorted(CASE_KEYS)}")
        mode = raw.get("mode", default_mode)
        if mode not in MODES or not isinstance(raw.get("fires"), bool):
            raise CaseFileError(
                path, 1, f"case {raw['text']!r}: need fires true/false and a mode in {MODES}"
            )
        cases.append(
            RuleCase(
                rule_id,
                str(raw["text"]),
                raw["fires"],
                mode,
                {str(k): str(v) for k, v in (raw.get("answers") or {}).items()},
                raw.get("age"),
                raw.get("sex"),
                raw.get("pregnant"),
            )
        )
    return cases


def all_case_files(directory: Path = CASES_DIR) -> dict[str, list[RuleCase]]:
    """Every case file in ``directory``, by rule id."""
    return {path.stem: load_case_file(path) for path in sorted(directory.glob("*.yaml"))}


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSONL case file; raises
    ``CaseFileError`` naming the line that is not JSON or not an object."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CaseFileError(path, 0, f"cannot read the file: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseFileError(path, number, f"not valid JSON ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise CaseFileError(path, number, "each line must be a JSON object")
        yield number, raw
