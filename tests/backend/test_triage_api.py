"""POST /internal/triage: stepwise questions, then a recorded decision for clinicians."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import Conversation, TriageRecord
from backend.handoff.service import queue
from backend.main import create_app
from backend.services import Services, build_services
from backend.triage.service import build_engine
from symptom_rules import Engine
from tests.backend.conftest import chest_pain_screen
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS

AUTH = {"Authorization": "Bearer test-service-token-0123456789"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Settings(_env_file=None, env="development", emergency_number="999"))  # type: ignore[call-arg]


@pytest.fixture
def triage_services(settings: Settings, engine: Engine) -> Services:
    return build_services(
        settings, rasa=FakeRasa(), safety_screen=chest_pain_screen, triage_engine=engine
    )


@pytest.fixture
def triage_client(settings: Settings, triage_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, triage_services), headers=REST_HEADERS) as client:
        yield client


def conversation_id(client: TestClient, services: Services) -> str:
    """A conversation the hub created (the action server only knows such ids)."""
    client.post("/channels/rest/webhook", json={"sender": "p-triage", "message": "hello"})
    with services.session_factory() as session:
        return session.scalars(select(Conversation.id)).one()


def step(client: TestClient, cid: str, complaint: str, answers: dict[str, str]) -> dict:
    response = client.post(
        "/internal/triage",
        headers=AUTH,
        json={"conversation_id": cid, "complaint": complaint, "answers": answers},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_questions_come_one_at_a_time_until_a_level_is_recorded(
    triage_client: TestClient, triage_services: Services
) -> None:
    cid = conversation_id(triage_client, triage_services)
    complaint = "I've had a headache since yesterday"
    answers: dict[str, str] = {}
    for _ in range(15):
        result = step(triage_client, cid, complaint, answers)
        if result["next_question"] is None:
            break
        assert result["level"] is None and result["record_id"] is None
        answers[result["next_question"]["id"]] = "no"
    assert result["level"] in {"consultation_24", "consultation", "self_care"}
    assert result["explanation"] and result["record_id"] is not None
    with triage_services.session_factory() as session:
        record = session.get(TriageRecord, result["record_id"])
        assert record is not None and record.conversation_id == cid
        assert record.level == result["level"]
        assert "headache" not in record.summary_ciphertext  # encrypted at rest
        summary = json.loads(triage_services.cipher.decrypt(record.summary_ciphertext))
    assert summary["complaint"] == complaint and summary["answers"] == answers
    with triage_services.session_factory() as session:
        queued = queue(session=session)
    # Non-emergency levels stay with the assistant, which offers a booking instead.
    assert queued == []


def test_a_yes_to_a_danger_question_gives_an_emergency_with_the_clinics_number(
    triage_client: TestClient, triage_services: Services
) -> None:
    cid = conversation_id(triage_client, triage_services)
    first = step(triage_client, cid, "I have chest pain", {})
    question = first["next_question"]
    assert question is not None and question["answers"] == ["yes", "no", "not sure"]
    answers = {question["id"]: "yes"}
    result = step(triage_client, cid, "I have chest pain", answers)
    while result["next_question"] is not None:
        answers[result["next_question"]["id"]] = "yes"
        result = step(triage_client, cid, "I have chest pain", answers)
    assert result["emergency"] is True
    assert "999" in result["safety_net"]
    with triage_services.session_factory() as session:
        (handoff,) = queue(session=session)
    assert handoff.conversation_id == cid
    assert (handoff.reason, handoff.priority) == ("emergency", "urgent")


def test_triage_refuses_unknown_conversations_and_bad_bodies(triage_client: TestClient) -> None:
    unknown = triage_client.post(
        "/internal/triage",
        headers=AUTH,
        json={"conversation_id": "nope", "complaint": "headache", "answers": {}},
    )
    assert unknown.status_code == 404
    empty = triage_client.post(
        "/internal/triage", headers=AUTH, json={"conversation_id": "x", "complaint": ""}
    )
    assert empty.status_code == 422
    no_token = triage_client.post(
        "/internal/triage", json={"conversation_id": "x", "complaint": "headache"}
    )
    assert no_token.status_code == 401
