"""Every rule id has a case file, and every case in it behaves as written."""

from __future__ import annotations

import pytest

from symptom_rules.casefiles import CASES_DIR, all_case_files

CASE_FILES = all_case_files()


def _policies_that_can_never_lift(engine):
    """Unanswered policies whose caps are no higher than the protocol's lowest rule."""
    never = set()
    for protocol in engine.rules.protocols:
        floor = min(rule.then.rank for rule in protocol.rules)
        caps = [protocol.unanswered.up_to] + [q.up_to for q in protocol.questions if q.up_to]
        if max(cap.rank for cap in caps) <= floor:
            never.add(protocol.unanswered.id)
    return never


def test_every_rule_id_has_a_case_file_with_cases_that_fire_and_cases_that_do_not(engine):
    ids = set(engine.rules.all_rule_ids())
    assert ids == set(CASE_FILES), (sorted(ids - set(CASE_FILES)), sorted(set(CASE_FILES) - ids))
    never = _policies_that_can_never_lift(engine)
    for rule_id, cases in CASE_FILES.items():
        assert any(not c.fires for c in cases), rule_id
        if rule_id not in never:
            assert any(c.fires for c in cases), rule_id


@pytest.mark.parametrize(
    "case",
    [case for cases in CASE_FILES.values() for case in cases],
    ids=lambda case: f"{case.rule_id}:{case.text[:40]}",
)
def test_rule_case_behaves_as_written(engine, case):
    fired = case.fired_rules(engine)
    assert (case.rule_id in fired) is case.fires, fired


def test_case_files_live_next_to_the_rules():
    assert CASES_DIR.name == "rules" and CASES_DIR.parent.name == "cases"
