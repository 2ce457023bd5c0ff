"""STOP, START and HELP on SMS and WhatsApp: answered by the hub, opt-out honoured everywhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import Conversation, OutboundDelivery, PhoneConsent
from backend.hub.keywords import Keyword, classify
from backend.services import Services
from channels.base import Reply
from tests.utils.fake_rasa import FakeRasa
from tests.utils.twilio_channel import PATIENT, text_in
from tests.utils.twilio_double import TwilioDouble


@pytest.fixture
def settings(twilio_settings: Settings) -> Settings:
    return twilio_settings


def conversation_ids(services: Services) -> dict[str, str]:
    with services.session_factory() as session:
        rows = session.scalars(select(Conversation)).all()
    return {row.channel: row.id for row in rows}


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "REVOKE",
    ],
)
def test_opt_out_keywords(word: str) -> None:
    assert classify(word) is Keyword.OPT_OUT


@pytest.mark.parametrize("word", ["START", "unstop", "Yes!"])
def test_opt_in_keywords(word: str) -> None:
    assert classify(word) is Keyword.OPT_IN


@pytest.mark.parametrize("text", ["stop reminders please", "cancel my appointment", "1", "hello"])
def test_only_a_whole_message_is_a_keyword(text: str) -> None:
    assert classify(text) is None


def test_stop_opts_out_at_once_and_never_reaches_rasa(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    assert text_in(client, "STOP").status_code == 200
    assert fake_rasa.received == []
    assert twilio.sent == []  # the carrier sends the one confirmation allowed
    with services.session_factory() as session:
        consent = session.scalars(select(PhoneConsent)).one()
    assert consent.opted_out and consent.keyword == "STOP"
    assert PATIENT not in consent.phone_hash


async def test_after_stop_no_kind_of_outbound_is_sent(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    text_in(client, "hello")
    text_in(client, "hello", channel="whatsapp")
    assert len(twilio.sent) == 2
    text_in(client, "STOP")
    twilio.sent.clear()

    text_in(client, "offer")  # a reply from the assistant
    text_in(client, "HELP")  # the hub's own keyword answer
    text_in(client, "hello", channel="whatsapp")  # the same number on another channel
    assert services.phone_outbound is not None
    for conversation_id in conversation_ids(services).values():
        for kind in ("outreach", "clinician", "reply"):
            sent = await services.phone_outbound.deliver(
                conversation_id=conversation_id, replies=[Reply(text="Reminder")], kind=kind
            )
            assert sent == 0

    assert twilio.sent == []
    with services.session_factory() as session:
        statuses = session.scalars(
            select(OutboundDelivery.status).where(OutboundDelivery.provider_message_id.is_(None))
        ).all()
    assert statuses and set(statuses) == {"blocked_opt_out"}


def test_start_opts_back_in(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    text_in(client, "STOP")
    text_in(client, "hello")
    assert twilio.sent == []
    text_in(client, "START")
    assert len(twilio.sent) == 1 and "again" in twilio.bodies[0]
    text_in(client, "hello again")
    assert twilio.bodies[-1] == "echo: hello again"


def test_yes_opts_back_in_only_an_opted_out_number(
    client: TestClient, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    text_in(client, "yes")
    assert fake_rasa.texts == ["yes"]  # an ordinary answer to the assistant
    text_in(client, "STOP")
    text_in(client, "YES")
    assert fake_rasa.texts == ["yes"]
    assert "again" in twilio.bodies[-1]


def test_help_answers_with_the_clinic_contact_and_how_to_opt_out(
    client: TestClient, settings: Settings, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    text_in(client, "help", channel="whatsapp")
    assert fake_rasa.received == []
    [body] = twilio.bodies
    assert settings.clinic_name in body and settings.clinic_phone in body
    assert "STOP" in body and "START" in body


def test_keywords_are_not_special_on_the_rest_channel(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    response = client.post("/channels/rest/webhook", json={"sender": "alice", "message": "STOP"})
    assert response.status_code == 200
    assert fake_rasa.texts == ["STOP"]
