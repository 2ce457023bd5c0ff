"""After a crash, the phone sender asks the provider what it took that nothing recorded: the
outreach dispatcher's way to close the window between a provider's answer and its record.

Against the local Twilio double through the real twilio client (the Messages list), and
against the development outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import OutboundDelivery
from backend.hub import transcript
from backend.services import Services, build_services
from channels.base import Reply
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.twilio_channel import twilio_overrides
from tests.utils.twilio_double import TwilioDouble

PHONE = "+15551230009"


def sms_conversation(services: Services) -> str:
    with services.session_factory() as session:
        return transcript.get_or_create_conversation(
            session=session, cipher=services.cipher, channel="sms", address=PHONE
        ).id


def deliveries(services: Services) -> list[tuple[str | None, str]]:
    with services.session_factory() as session:
        rows = session.scalars(select(OutboundDelivery).order_by(OutboundDelivery.id)).all()
        return [(row.provider_message_id, row.status) for row in rows]


def took_behind_our_back(services: Services) -> None:
    """What a process killed between the provider's answer and its record leaves: a message
    the provider has and no delivery row."""
    assert services.phone_outbound is not None
    transport = services.phone_outbound._transport
    transport.send(channel="sms", to=PHONE, body="Reminder: you have an appointment")


async def only_the_unrecorded_message_is_found(services: Services) -> None:
    phone = services.phone_outbound
    assert phone is not None
    conversation_id = sms_conversation(services)
    since = datetime.now(UTC) - timedelta(seconds=1)

    assert await phone.took_unrecorded(conversation_id=conversation_id, since=since) is False

    # a message that went out the ordinary way is recorded, so it is not "unrecorded"
    assert await phone.deliver(conversation_id=conversation_id, replies=[Reply("Hello")]) == 1
    assert await phone.took_unrecorded(conversation_id=conversation_id, since=since) is False

    took_behind_our_back(services)
    assert await phone.took_unrecorded(conversation_id=conversation_id, since=since) is True
    # now recorded: asking again finds nothing new
    assert await phone.took_unrecorded(conversation_id=conversation_id, since=since) is False


async def test_twilio_is_asked_through_its_message_list(
    tmp_path: Path, twilio: TwilioDouble
) -> None:
    settings = make_settings(tmp_path, **twilio_overrides(twilio.base_url))
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=FakeRasa())
    await only_the_unrecorded_message_is_found(services)
    assert len(twilio.sent) == 2
    [(_, ordinary), (sid, recovered)] = deliveries(services)
    assert (ordinary, recovered) == ("queued", "recovered")
    assert sid == twilio.sent[-1].sid


async def test_the_development_outbox_is_asked_too(settings: Settings) -> None:
    services = build_services(settings, rasa=FakeRasa())
    await only_the_unrecorded_message_is_found(services)
    assert [status for _, status in deliveries(services)] == ["outbox", "recovered"]


async def test_a_conversation_that_is_not_on_a_phone_is_not_asked_about(
    settings: Settings,
) -> None:
    services = build_services(settings, rasa=FakeRasa())
    assert services.phone_outbound is not None
    with services.session_factory() as session:
        rest = transcript.get_or_create_conversation(
            session=session, cipher=services.cipher, channel="rest", address="alice"
        ).id
    since = datetime.now(UTC)
    assert await services.phone_outbound.took_unrecorded(conversation_id=rest, since=since) is None
