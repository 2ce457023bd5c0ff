"""The REST channel goes through the hub path: store, screen, Rasa, store, answer."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from backend.core.config import Settings
from backend.db.models import Conversation, Message
from backend.hub import transcript
from backend.main import create_app
from backend.services import Services
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.twilio_channel import stored_messages

WEBHOOK = "/channels/rest/webhook"


def test_message_returns_the_assistants_replies(client: TestClient) -> None:
    response = client.post(WEBHOOK, json={"sender": "alice", "message": "hello"})
    assert response.status_code == 200
    assert response.json() == [{"text": "echo: hello"}]


def test_messages_in_and_out_are_logged(client: TestClient, services: Services) -> None:
    client.post(WEBHOOK, json={"sender": "alice", "message": "hello"})
    with services.session_factory() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
    assert [(row.direction, row.author) for row in rows] == [("in", "patient"), ("out", "bot")]
    assert all(row.channel == "rest" for row in rows)


def test_same_sender_keeps_one_conversation(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    client.post(WEBHOOK, json={"sender": "alice", "message": "one"})
    client.post(WEBHOOK, json={"sender": "alice", "message": "two"})
    client.post(WEBHOOK, json={"sender": "bob", "message": "three"})
    ids = [conversation_id for conversation_id, _ in fake_rasa.received]
    assert ids[0] == ids[1] != ids[2]
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 2


def test_phone_number_never_reaches_rasa(client: TestClient, fake_rasa: FakeRasa) -> None:
    client.post(WEBHOOK, json={"sender": "+15551234567", "message": "hi"})
    conversation_id, _ = fake_rasa.received[0]
    assert "5551234567" not in conversation_id
    assert len(conversation_id) == 32 and conversation_id.isalnum()


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/greet", "greet"),
        ("/restart", "restart"),
        ('/book_appointment{"x":1}', 'book_appointment{"x":1}'),
        ("  //greet", "greet"),
        ("/ /stop", "stop"),
    ],
)
def test_leading_slash_reaches_rasa_as_plain_text(
    client: TestClient, fake_rasa: FakeRasa, typed: str, sent: str
) -> None:
    response = client.post(WEBHOOK, json={"sender": "mallory", "message": typed})
    assert response.status_code == 200
    assert fake_rasa.texts == [sent]


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "/", " // "])
def test_empty_messages_are_rejected_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa, message: str
) -> None:
    response = client.post(WEBHOOK, json={"sender": "alice", "message": message})
    assert response.status_code == 422
    assert "message" in response.json()["detail"]
    assert stored_messages(services) == 0
    assert fake_rasa.received == []


def test_a_10000_character_message_is_rejected_and_nothing_is_stored(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    response = client.post(WEBHOOK, json={"sender": "alice", "message": "a" * 10_000})
    assert response.status_code == 422
    assert "too long" in response.json()["detail"]
    assert stored_messages(services) == 0
    assert fake_rasa.received == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"sender": "alice", "message": ',
        b"[]",
        b'{"sender": "alice"}',
        b'{"message": "hi"}',
        b'{"sender": "alice", "message": 123}',
        b'{"sender": ["alice"], "message": "hi"}',
        b'{"sender": "", "message": "hi"}',
        b'{"sender": "alice", "message": null}',
    ],
)
def test_malformed_bodies_get_a_clear_4xx_and_nothing_is_stored(
    client: TestClient, services: Services, body: bytes
) -> None:
    response = client.post(WEBHOOK, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"]
    assert stored_messages(services) == 0


def test_unicode_and_emoji_reach_rasa_and_the_log_intact(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    text_in = "Zoë O'Brien-Núñez 🤒 мне плохо 頭痛"
    response = client.post(WEBHOOK, json={"sender": "zoë", "message": text_in})
    assert response.json() == [{"text": f"echo: {text_in}"}]
    assert fake_rasa.texts == [text_in]
    with services.session_factory() as session:
        conversation_id = session.scalars(select(Conversation.id)).one()
        lines = transcript.transcript(
            session=session, cipher=services.cipher, conversation_id=conversation_id
        )
    assert [line.text for line in lines] == [text_in, f"echo: {text_in}"]


def test_message_text_and_sender_are_encrypted_at_rest(
    client: TestClient, services: Services
) -> None:
    client.post(WEBHOOK, json={"sender": "+15557654321", "message": "my secret rash"})
    with services.engine.connect() as connection:
        dump = " ".join(
            str(value)
            for table in ("conversations", "messages")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    assert "secret rash" not in dump
    assert "5557654321" not in dump


def test_a_numbered_reply_picks_the_offered_button(client: TestClient, fake_rasa: FakeRasa) -> None:
    offer = client.post(WEBHOOK, json={"sender": "alice", "message": "offer"}).json()
    assert offer[0]["buttons"][0] == {"title": "Yes please", "payload": "/affirm"}
    client.post(WEBHOOK, json={"sender": "alice", "message": "1"})
    client.post(WEBHOOK, json={"sender": "alice", "message": "1"})  # no buttons offered now
    assert fake_rasa.texts == ["offer", "/affirm", "1"]


def test_a_button_title_reply_picks_the_offered_button(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    client.post(WEBHOOK, json={"sender": "alice", "message": "offer"})
    client.post(WEBHOOK, json={"sender": "alice", "message": "no thanks"})
    assert fake_rasa.texts == ["offer", "/deny"]


def test_a_buttons_payload_picks_that_button_and_other_slash_commands_stay_plain_text(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    client.post(WEBHOOK, json={"sender": "alice", "message": "offer"})
    client.post(WEBHOOK, json={"sender": "alice", "message": "/affirm"})  # Rasa-widget style
    client.post(WEBHOOK, json={"sender": "alice", "message": "offer"})
    client.post(WEBHOOK, json={"sender": "alice", "message": "/restart"})  # not offered
    client.post(WEBHOOK, json={"sender": "alice", "message": "/affirm"})  # no longer offered
    assert fake_rasa.texts == ["offer", "/affirm", "offer", "restart", "affirm"]
    with services.session_factory() as session:
        conversation_id = session.scalars(select(Conversation.id)).one()
        lines = transcript.transcript(
            session=session, cipher=services.cipher, conversation_id=conversation_id
        )
    assert lines[2].text == "Yes please"  # the transcript shows the button the patient chose


def test_rasa_down_returns_503_and_keeps_the_patients_message(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    fake_rasa.down = True
    response = client.post(WEBHOOK, json={"sender": "alice", "message": "hello?"})
    assert response.status_code == 503
    assert "try again" in response.json()["detail"]
    assert stored_messages(services) == 1


def test_the_message_is_stored_before_rasa_answers(
    client: TestClient, fake_rasa: FakeRasa, services: Services
) -> None:
    """The write may overlap Rasa's work (hub/pipeline.py), but never wait for its answer."""
    stored_while_thinking: list[int] = []

    async def think() -> None:
        for _ in range(500):  # until the hub has stored it, with a ceiling
            if stored_messages(services):
                break
            await asyncio.sleep(0.01)
        stored_while_thinking.append(stored_messages(services))

    fake_rasa.while_thinking = think
    response = client.post(WEBHOOK, json={"sender": "alice", "message": "hello"})

    assert response.json() == [{"text": "echo: hello"}]
    assert stored_while_thinking == [1]  # the patient's message, before Rasa answered
    assert stored_messages(services) == 2


def test_an_emergency_is_answered_by_the_screen_without_rasa(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    response = client.post(
        WEBHOOK, json={"sender": "alice", "message": "I have crushing chest pain"}
    )
    replies = response.json()
    assert replies[0]["text"] == "Call 911 now."
    assert "heart attack" in replies[1]["text"]
    assert fake_rasa.received == []


def test_when_rasa_says_nothing_the_patient_is_still_answered(client: TestClient) -> None:
    response = client.post(
        "/channels/rest/webhook", json={"sender": "p-silence", "message": "silence"}
    )
    assert response.status_code == 200
    (reply,) = response.json()
    assert "person" in reply["text"]


def test_an_emergency_stops_any_form_in_rasa_and_records_the_guidance(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    client.post(WEBHOOK, json={"sender": "bob", "message": "I'd like to book"})
    client.post(WEBHOOK, json={"sender": "bob", "message": "I have crushing chest pain"})
    ((conversation_id, said),) = fake_rasa.interrupted
    assert conversation_id == fake_rasa.received[0][0]
    assert said[0] == "Call 911 now."


def test_an_emergency_is_answered_even_when_rasa_is_down(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    fake_rasa.down = True
    response = client.post(WEBHOOK, json={"sender": "carol", "message": "crushing chest pain"})
    assert response.status_code == 200
    assert response.json()[0]["text"] == "Call 911 now."


def test_an_emergency_puts_the_conversation_at_the_top_of_the_clinicians_queue(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    from backend.handoff.service import queue

    client.post(WEBHOOK, json={"sender": "dave", "message": "I'd like to book"})
    replies = client.post(
        WEBHOOK, json={"sender": "dave", "message": "I have crushing chest pain"}
    ).json()
    assert "care team" in replies[-1]["text"]
    with services.session_factory() as session:
        (handoff,) = queue(session=session)
    assert handoff.conversation_id == fake_rasa.received[0][0]
    assert handoff.reason == "emergency" and handoff.priority == "urgent"
    assert handoff.state == "waiting"


def test_the_webhook_is_documented_with_its_body_and_answer(client: TestClient) -> None:
    """The API documentation shows the body and the answer."""
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/channels/rest/webhook"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert set(body["required"]) == {"sender", "message"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["type"] == "array"


def test_the_webhook_takes_only_post(client: TestClient, services: Services) -> None:
    """Any other method gets FastAPI's own answer, and nothing is stored."""
    response = client.get(WEBHOOK)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert stored_messages(services) == 0


def test_an_unexpected_failure_is_a_plain_500_and_the_app_keeps_answering(
    settings: Settings, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(message: object) -> None:
        raise RuntimeError("a bug")

    app = create_app(settings, services)
    with TestClient(app, raise_server_exceptions=False, headers=REST_HEADERS) as client:
        monkeypatch.setattr(services.hub, "handle", broken)
        response = client.post(WEBHOOK, json={"sender": "web-1", "message": "hello"})
        assert response.status_code == 500
        assert "a bug" not in response.text
        monkeypatch.undo()
        assert client.post(WEBHOOK, json={"sender": "web-1", "message": "hello"}).status_code == 200
