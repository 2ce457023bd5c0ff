"""The hub during a hand-off: messages kept from Rasa, one honest acknowledgement, clinician
replies delivered on the REST channel, Rasa paused and resumed, the assistant greeting again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.db.models import Handoff, Message
from backend.handoff.flow import HAND_BACK_GREETING
from backend.hub.pipeline import WAITING_FOR_CLINICIAN
from backend.services import Services
from tests.backend.test_handoff_console_api import escalate, patient_says, sign_in
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import make_clinician


def say(client: TestClient, text: str, sender: str = "+15550001111") -> list[str]:
    response = client.post("/channels/rest/webhook", json={"sender": sender, "message": text})
    assert response.status_code == 200, response.text
    return [reply["text"] for reply in response.json()]


@pytest.fixture
def signed_in(client: TestClient, services: Services) -> TestClient:
    with services.session_factory() as session:
        make_clinician(session)
    sign_in(client)
    return client


def claimed(client: TestClient, services: Services) -> tuple[str, str]:
    """A conversation escalated and claimed by Ann: (the hand-off's console URL, its id)."""
    conversation_id = patient_says(client, services, "hello")
    handoff = escalate(client, conversation_id, "patient_request")
    url = f"/console/api/handoffs/{handoff['id']}"
    assert client.post(f"{url}/claim").status_code == 200
    return url, conversation_id


def test_messages_while_waiting_reach_the_log_not_rasa_and_are_acknowledged_once(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    conversation_id = patient_says(client, services, "hello")
    escalate(client, conversation_id, "patient_request")
    sent_to_rasa = len(fake_rasa.received)

    assert say(client, "are you there?") == [WAITING_FOR_CLINICIAN]
    assert say(client, "my knee still hurts") == []  # acknowledged once, not every time
    assert len(fake_rasa.received) == sent_to_rasa
    with services.session_factory() as session:
        authors = session.scalars(
            select(Message.author).where(Message.conversation_id == conversation_id)
        ).all()
    assert authors.count("patient") == 3  # all in the transcript the console shows


def test_a_held_conversation_gets_no_acknowledgement(
    signed_in: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    claimed(signed_in, services)
    sent_to_rasa = len(fake_rasa.received)
    assert say(signed_in, "hello doctor") == []
    assert len(fake_rasa.received) == sent_to_rasa


def test_a_red_flag_opens_an_urgent_handoff_and_pauses_rasa(
    client: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    replies = say(client, "I have crushing chest pain")
    assert replies[0] == "Call 911 now."
    with services.session_factory() as session:
        handoff = session.scalars(select(Handoff)).one()
    assert (handoff.state, handoff.priority, handoff.reason) == ("waiting", "urgent", "emergency")
    assert handoff.conversation_id in fake_rasa.paused
    sent_to_rasa = len(fake_rasa.received)
    say(client, "it is getting worse")
    assert len(fake_rasa.received) == sent_to_rasa


def test_a_red_flag_while_waiting_still_gets_emergency_guidance_and_raises_priority(
    client: TestClient, services: Services
) -> None:
    escalate(client, patient_says(client, services, "hello"), "patient_request")
    assert say(client, "now crushing chest pain")[0] == "Call 911 now."
    with services.session_factory() as session:
        handoff = session.scalars(select(Handoff)).one()
    assert (handoff.state, handoff.priority) == ("waiting", "urgent")


def test_a_clinician_reply_reaches_the_rest_patient_transcript_and_rasa_history(
    signed_in: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    url, _ = claimed(signed_in, services)
    sent = signed_in.post(f"{url}/reply", json={"text": "Hi, I'm Ann, a nurse."})
    assert sent.status_code == 200 and sent.json() == {"sent": 1}
    assert fake_rasa.history[-1][1:] == ("clinician", "Hi, I'm Ann, a nurse.")

    # REST cannot be called: the reply comes with the answer to the patient's next message.
    assert say(signed_in, "thank you") == ["Hi, I'm Ann, a nurse."]
    assert say(signed_in, "ok") == []  # handed over once
    lines = signed_in.get(f"{url}/transcript").json()["data"]
    assert [(m["author"], m["text"]) for m in lines][-3:] == [
        ("clinician", "Hi, I'm Ann, a nurse."),
        ("patient", "thank you"),
        ("patient", "ok"),
    ]


def test_only_the_holder_can_reply_and_empty_replies_are_refused(
    signed_in: TestClient, services: Services
) -> None:
    handoff = escalate(signed_in, patient_says(signed_in, services, "hello"), "patient_request")
    url = f"/console/api/handoffs/{handoff['id']}"
    assert signed_in.post(f"{url}/reply", json={"text": "hi"}).status_code == 403  # unclaimed
    signed_in.post(f"{url}/claim")
    assert signed_in.post(f"{url}/reply", json={"text": "   "}).status_code == 422
    assert signed_in.post(f"{url}/reply", json={}).status_code == 422
    assert signed_in.post("/console/api/handoffs/999/reply", json={"text": "x"}).status_code == 404


def test_hand_back_resumes_rasa_and_the_assistant_greets_the_patient(
    signed_in: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    url, conversation_id = claimed(signed_in, services)
    fake_rasa.paused.add(conversation_id)  # as the action's ConversationPaused would have
    done = signed_in.post(f"{url}/resolve", json={"hand_back": True}).json()
    assert (done["state"], done["outcome"]) == ("bot", "hand_back")
    assert conversation_id not in fake_rasa.paused
    assert (conversation_id, "bot", HAND_BACK_GREETING) in fake_rasa.history

    replies = say(signed_in, "book me in please")
    assert replies == [HAND_BACK_GREETING, "echo: book me in please"]  # Rasa answers again


def test_resolve_and_close_resumes_rasa_without_a_greeting(
    signed_in: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    url, _ = claimed(signed_in, services)
    done = signed_in.post(f"{url}/resolve", json={"hand_back": False}).json()
    assert (done["state"], done["outcome"]) == ("bot", "close")
    assert say(signed_in, "bye") == ["echo: bye"]


def test_when_rasa_is_down_at_resolve_the_hub_resumes_it_on_the_next_message(
    signed_in: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    url, _ = claimed(signed_in, services)
    fake_rasa.down = True
    done = signed_in.post(f"{url}/resolve", json={"hand_back": True})
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    fake_rasa.down = False
    assert say(signed_in, "hello again") == [HAND_BACK_GREETING, "echo: hello again"]
    with services.session_factory() as session:
        assert session.scalars(select(Handoff.state)).one() == "bot"
