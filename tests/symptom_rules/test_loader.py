"""The loader accepts only declared names and says where a bad rule is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from symptom_rules import Engine, EngineConfig, RuleFileError
from symptom_rules.config import DATA_DIR
from symptom_rules.loader import load_protocol_file, load_red_flag_file, load_rule_set
from symptom_rules.vocabulary import load_vocabulary

TYPO_RULES = """\
rules:
  - id: RF-TEST-001
    description: a valid rule
    rationale: test
    source: test
    explain: test
    when: {finding: chest_pain}
    then: emergency
  - id: RF-TEST-002
    description: a rule with a typo
    rationale: test
    source: test
    explain: test
    when:
      all:
        - finding: chest_pian
    then: emergency
"""


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary(DATA_DIR / "vocabulary")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_a_misspelt_finding_is_rejected_with_file_line_and_rule_id(tmp_path, vocab):
    path = write(tmp_path, TYPO_RULES)
    with pytest.raises(RuleFileError) as caught:
        load_red_flag_file(path, vocab)
    error = caught.value
    assert error.path == path
    assert error.line == 16
    assert error.rule_id == "RF-TEST-002"
    assert "chest_pian" in str(error) and "chest_pain" in str(error)
    assert str(error).startswith(f"{path}:16: rule RF-TEST-002:")


@pytest.mark.parametrize(
    ("replacement", "problem"),
    [
        ("when: {finding: chest_pain}", "when: {finding_any: chest_pain}"),
        ("then: emergency", "then: urgent"),
        ("when: {finding: chest_pain}", "when: {fact: age_yrs, lt: 1}"),
        ("when: {finding: chest_pain}", "when: {fact: age_years, below: 1}"),
        ("when: {finding: chest_pain}", "when: {fact: age_years, lt: one}"),
        ("    explain: test\n    when: {finding", "    explian: test\n    when: {finding"),
    ],
)
def test_undeclared_operators_levels_facts_and_keys_are_rejected(
    tmp_path, vocab, replacement, problem
):
    text = TYPO_RULES.split("  - id: RF-TEST-002")[0].replace(replacement, problem, 1)
    with pytest.raises(RuleFileError) as caught:
        load_red_flag_file(write(tmp_path, text), vocab)
    assert caught.value.rule_id == "RF-TEST-001"
    assert caught.value.line > 1


def test_a_duplicate_rule_id_names_the_first_use(tmp_path, vocab):
    text = TYPO_RULES.replace("RF-TEST-002", "RF-TEST-001").replace("chest_pian", "chest_pain")
    with pytest.raises(RuleFileError, match=r"already used at rules\.yaml:2"):
        load_red_flag_file(write(tmp_path, text), vocab)


def test_a_broken_data_directory_stops_the_engine_from_starting(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    target = data / "red_flags" / "heart_brain_breathing.yaml"
    target.write_text(target.read_text().replace("finding: sweating", "finding: sweatting", 1))
    with pytest.raises(RuleFileError, match="sweatting"):
        Engine(EngineConfig(data_dir=data))


def test_a_vocabulary_term_with_unbalanced_brackets_is_rejected(tmp_path):
    (tmp_path / "v.yaml").write_text("findings:\n  x:\n    label: x\n    terms:\n      - (a|b\n")
    with pytest.raises(RuleFileError, match="unclosed"):
        load_vocabulary(tmp_path)


def test_the_shipped_rules_load_with_every_issue_red_flag(engine):
    rules = load_rule_set(DATA_DIR)
    ids = {r.id.rsplit("-", 1)[0] for r in rules.red_flags}
    assert {
        "RF-CHEST",
        "RF-STROKE",
        "RF-BREATH",
        "RF-ANAPH",
        "RF-BLEED",
        "RF-COLLAPSE",
        "RF-SEIZURE",
        "RF-MH",
        "RF-OD",
        "RF-INFANT",
        "RF-MENING",
        "RF-ABDO",
        "RF-HEAD",
        "RF-GI",
        "RF-SEPSIS",
    } <= ids
    assert len(rules.protocols) >= 25


def test_every_rule_has_a_description_rationale_source_and_explanation(engine):
    rules = list(engine.rules.red_flags) + [r for p in engine.rules.protocols for r in p.rules]
    for rule in rules:
        assert rule.description and rule.rationale and rule.source and rule.explain, rule.id


def test_every_protocol_question_expects_yes_to_be_the_worrying_answer(engine):
    for protocol in engine.rules.protocols:
        names = {n for r in protocol.rules for n in r.when.names()}
        red_flag_names = {n for r in engine.rules.red_flags for n in r.when.names()}
        for question in protocol.questions:
            assert question.target in names | red_flag_names, (protocol.id, question.id)


PROTOCOL = """\
id: P-TEST
complaint: test
description: test
source: test
triggers: {finding: headache}
questions:
- id: q_test_fever
  text: Fever?
  finding: fever
  unanswered_up_to: consultation_24
unanswered:
  id: P-TEST-UNANSWERED
  up_to: consultation
  reassured_up_to: self_care
  rationale: test
rules:
- id: P-TEST-001
  description: test
  rationale: test
  source: test
  explain: test
  when: {finding: headache}
  then: self_care
"""


def test_question_caps_and_the_reassured_cap_are_read(tmp_path, vocab):
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL)
    protocol = load_protocol_file(path, vocab)
    assert protocol.questions[0].up_to is not None
    assert protocol.questions[0].up_to.value == "consultation_24"
    assert protocol.unanswered.reassured_up_to is not None
    assert protocol.unanswered.reassured_up_to.value == "self_care"


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("unanswered_up_to: consultation_24", "unanswered_up_to: soon", 10),
        ("reassured_up_to: self_care", "reassured_up_to: home", 14),
    ],
)
def test_an_unknown_cap_level_is_rejected_with_its_line_and_protocol(
    tmp_path, vocab, old, new, line
):
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL.replace(old, new))
    with pytest.raises(RuleFileError) as caught:
        load_protocol_file(path, vocab)
    assert caught.value.line == line
    assert caught.value.rule_id == "P-TEST"


def test_a_finding_that_excludes_an_undeclared_finding_is_rejected(tmp_path):
    (tmp_path / "v.yaml").write_text(
        "findings:\n  calm:\n    label: calm\n    terms: [calm]\n    excludes: [panik]\n"
    )
    with pytest.raises(RuleFileError, match="excludes undeclared finding 'panik'") as caught:
        load_vocabulary(tmp_path)
    assert caught.value.line == 2


def test_a_term_may_not_start_with_a_gap(tmp_path):
    (tmp_path / "v.yaml").write_text(
        "findings:\n  x:\n    label: x\n    terms:\n      - ... pain\n"
    )
    with pytest.raises(RuleFileError, match="may not start or end"):
        load_vocabulary(tmp_path)
