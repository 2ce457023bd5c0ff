"""The hub's red-flag screen is the real symptom_rules screen, with the clinic's numbers."""

from __future__ import annotations

import pytest

from backend.hub.safety import SafetyScreen
from backend.hub.safety_adapter import symptom_rules_screen
from symptom_rules import Engine, EngineConfig


@pytest.fixture(scope="module")
def uk_screen() -> SafetyScreen:
    engine = Engine(EngineConfig(emergency_number="999", crisis_line="111", poison_line="111"))
    return symptom_rules_screen(engine)


def test_an_emergency_is_flagged_with_the_clinics_emergency_number(uk_screen: SafetyScreen) -> None:
    alert = uk_screen("crushing chest pain spreading to my left arm and I'm sweating")
    assert alert is not None
    assert alert.level == "emergency_ambulance"
    assert alert.rule_ids and all(rule.startswith("RF-") for rule in alert.rule_ids)
    assert "999" in alert.safety_net and "911" not in alert.safety_net


@pytest.mark.parametrize(
    "text", ["hello", "I have heartburn after dinner", "my job is a pain in the neck", "/restart"]
)
def test_ordinary_messages_pass_the_screen(uk_screen: SafetyScreen, text: str) -> None:
    assert uk_screen(text) is None
