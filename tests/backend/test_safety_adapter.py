"""The hub's red-flag screen is the real symptom_rules screen, with the clinic's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.db.migrate import upgrade
from backend.hub.safety import SafetyScreen
from backend.hub.safety_adapter import symptom_rules_screen
from backend.main import create_app
from backend.services import build_services
from symptom_rules import Engine, EngineConfig
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS


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


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("how many paracetamol would be an overdose?", "111"),
        ("what are the warning signs of suicide in teenagers?", "111"),
    ],
)
def test_a_question_about_suicide_or_overdose_is_advice_not_an_emergency(
    uk_screen: SafetyScreen, text: str, line: str
) -> None:
    alert = uk_screen(text)
    assert alert is not None and not alert.emergency
    assert line in alert.safety_net


def test_advice_follows_the_assistants_answer_and_the_dialogue_goes_on(
    tmp_path: Path, uk_screen: SafetyScreen
) -> None:
    settings = make_settings(tmp_path)
    upgrade(settings.effective_database_url)
    rasa = FakeRasa()
    services = build_services(settings, rasa=rasa, safety_screen=uk_screen)
    with TestClient(create_app(settings, services), headers=REST_HEADERS) as client:
        asked = "how many paracetamol would be an overdose?"
        response = client.post("/channels/rest/webhook", json={"sender": "a", "message": asked})
    replies = [reply["text"] for reply in response.json()]
    assert replies[0] == f"echo: {asked}"  # the assistant was asked and answered first
    assert "111" in replies[-1] and len(replies) == 2
    assert rasa.received and not rasa.paused
