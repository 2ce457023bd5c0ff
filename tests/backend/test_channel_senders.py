"""Messages the hub sends on its own go out on the conversation's channel, STOP honoured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import Conversation
from backend.hub.senders import NoPushChannel, deliver_to_conversation
from backend.services import Services
from channels.base import Reply
from tests.utils.twilio_channel import PATIENT, text_in
from tests.utils.twilio_double import TwilioDouble


@pytest.fixture
def settings(twilio_settings: Settings) -> Settings:
    return twilio_settings


def conversation_on(services: Services, channel: str) -> str:
    with services.session_factory() as session:
        return session.scalars(select(Conversation.id).where(Conversation.channel == channel)).one()


async def send(services: Services, conversation_id: str, text: str) -> int:
    return await deliver_to_conversation(
        db=services.db,
        phone=services.phone_outbound,
        telegram=services.telegram,
        conversation_id=conversation_id,
        replies=[Reply(text)],
        kind="clinician",
    )


async def test_a_clinician_message_goes_out_by_sms_unless_the_number_opted_out(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello")
    conversation_id = conversation_on(services, "sms")
    assert await send(services, conversation_id, "Dr Lee here: call us back") == 1
    assert twilio.sent[-1].form == {
        **twilio.sent[-1].form,
        "To": PATIENT,
        "Body": "Dr Lee here: call us back",
    }
    text_in(client, "STOP")
    count = len(twilio.sent)
    assert await send(services, conversation_id, "Are you there?") == 0
    assert len(twilio.sent) == count


async def test_the_rest_channel_has_no_sender(client: TestClient, services: Services) -> None:
    client.post("/channels/rest/webhook", json={"sender": "alice", "message": "hi"})
    with pytest.raises(NoPushChannel):
        await send(services, conversation_on(services, "rest"), "hello")
