"""WhatsApp: free text only within 24 hours of the patient's last message, templates after."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Conversation, OutboundDelivery, utcnow
from backend.hub.outbound import FreeTextRefused, UnknownTemplate
from backend.services import Services
from channels.base import Reply
from tests.backend.conftest import make_settings
from tests.utils.twilio_channel import text_in, twilio_overrides
from tests.utils.twilio_double import TwilioDouble

REMINDER_SID = "HX" + "1" * 32


@pytest.fixture
def settings(tmp_path: Path, twilio: TwilioDouble) -> Settings:
    built = make_settings(
        tmp_path,
        **twilio_overrides(twilio.base_url),
        twilio_whatsapp_templates={"appointment_reminder": REMINDER_SID},
    )
    upgrade(built.effective_database_url)
    return built


def whatsapp_conversation(services: Services, *, hours_since_patient_wrote: float) -> str:
    with services.session_factory() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.channel == "whatsapp")
        ).one()
        conversation.last_message_at = utcnow() - timedelta(hours=hours_since_patient_wrote)
        session.commit()
        return conversation.id


async def test_free_text_is_sent_inside_the_window(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello", channel="whatsapp")
    conversation_id = whatsapp_conversation(services, hours_since_patient_wrote=23)
    assert services.phone_outbound is not None
    sent = await services.phone_outbound.deliver(
        conversation_id=conversation_id, replies=[Reply("Your results are ready")], kind="outreach"
    )
    assert sent == 1 and twilio.bodies[-1] == "Your results are ready"


async def test_free_text_is_refused_outside_the_window_and_a_template_is_sent(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello", channel="whatsapp")
    twilio.sent.clear()
    conversation_id = whatsapp_conversation(services, hours_since_patient_wrote=25)
    outbound = services.phone_outbound
    assert outbound is not None
    with pytest.raises(FreeTextRefused, match="24-hour window"):
        await outbound.deliver(
            conversation_id=conversation_id, replies=[Reply("Reminder")], kind="outreach"
        )
    assert twilio.sent == []

    variables = {"1": "Tuesday", "2": "10:30"}
    sent = await outbound.deliver_template(
        conversation_id=conversation_id, template="appointment_reminder", variables=variables
    )
    assert sent == 1
    [message] = twilio.sent
    assert message.form["ContentSid"] == REMINDER_SID
    assert json.loads(message.form["ContentVariables"]) == variables
    assert message.form["To"].startswith("whatsapp:+")
    assert "Body" not in message.form
    with services.session_factory() as session:
        statuses = session.scalars(select(OutboundDelivery.status)).all()
    assert "blocked_window" in statuses and "queued" in statuses


async def test_templates_are_not_sent_after_stop(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "STOP", channel="whatsapp")
    conversation_id = whatsapp_conversation(services, hours_since_patient_wrote=48)
    assert services.phone_outbound is not None
    sent = await services.phone_outbound.deliver_template(
        conversation_id=conversation_id, template="appointment_reminder", variables={}
    )
    assert sent == 0 and twilio.sent == []


async def test_an_unconfigured_template_is_a_clear_error(
    client: TestClient, services: Services
) -> None:
    text_in(client, "hello", channel="whatsapp")
    conversation_id = whatsapp_conversation(services, hours_since_patient_wrote=30)
    assert services.phone_outbound is not None
    with pytest.raises(UnknownTemplate, match="refill_nudge"):
        await services.phone_outbound.deliver_template(
            conversation_id=conversation_id, template="refill_nudge", variables={}
        )


async def test_sms_has_no_window(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    text_in(client, "hello")
    with services.session_factory() as session:
        conversation = session.scalars(select(Conversation)).one()
        conversation.last_message_at = utcnow() - timedelta(days=30)
        session.commit()
    assert services.phone_outbound is not None
    sent = await services.phone_outbound.deliver(
        conversation_id=conversation.id, replies=[Reply("Reminder")], kind="outreach"
    )
    assert sent == 1
