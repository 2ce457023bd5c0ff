"""Phone channels over their rate limit (backend/hub/throttling.py): every message is kept
and acknowledged to the provider, a burst is not sent to Rasa, the patient is told once, and
neither an emergency nor STOP is ever held back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Message, PhoneConsent
from backend.hub.throttling import phone_slow_down
from backend.hub.turn_queue import unanswered_phone_messages
from backend.main import create_app
from backend.services import Services, build_services
from channels.telegram import SECRET_HEADER
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.telegram_double import TelegramDouble
from tests.utils.twilio_channel import logged, settle, text_in, twilio_overrides
from tests.utils.twilio_double import TwilioDouble

LIMITS = {"rate_limit_per_address": "3/minute", "rate_limit_per_client": "100/minute"}
SLOW_DOWN = phone_slow_down("911")


@pytest.fixture
def settings(tmp_path: Path, twilio: TwilioDouble) -> Settings:
    built = make_settings(tmp_path, **twilio_overrides(twilio.base_url), **LIMITS)
    upgrade(built.effective_database_url)
    return built


def inbound_texts(services: Services) -> list[str]:
    return [text for direction, text in logged(services) if direction == "in"]


def never_answered(services: Services) -> list[int]:
    with services.session_factory() as session:
        return unanswered_phone_messages(session)


def test_an_sms_burst_is_kept_whole_but_only_the_limit_reaches_rasa(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    codes = [text_in(client, f"message {i}").status_code for i in range(6)]
    assert codes == [200] * 6  # Twilio is always acknowledged, so it never retries
    assert inbound_texts(services) == [f"message {i}" for i in range(6)]
    assert fake_rasa.texts == ["message 0", "message 1", "message 2"]
    # Told once, not once per message of the burst.
    assert twilio.bodies == ["echo: message 0", "echo: message 1", "echo: message 2", SLOW_DOWN]
    # The held-back messages count as answered: no queue worker or restart sends them on.
    assert never_answered(services) == []


def test_another_number_is_not_held_back_by_one_patients_burst(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    for i in range(4):
        text_in(client, f"burst {i}")
    text_in(client, "hello", sender="+15551230002")
    assert fake_rasa.texts[-1] == "hello"


def test_an_emergency_in_a_burst_is_answered_as_an_emergency(
    client: TestClient, services: Services, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> None:
    for i in range(4):
        text_in(client, f"burst {i}")
    text_in(client, "now I have crushing chest pain")
    assert "Call 911 now." in twilio.bodies
    with services.session_factory() as session:
        from backend.handoff.service import queue

        (handoff,) = queue(session=session)
    assert handoff.reason == "emergency"
    assert len(fake_rasa.received) == 3


def test_stop_in_a_burst_still_opts_the_number_out(
    client: TestClient, services: Services, twilio: TwilioDouble
) -> None:
    for i in range(4):
        text_in(client, f"burst {i}")
    text_in(client, "STOP")
    with services.session_factory() as session:
        consent = session.scalars(select(PhoneConsent)).one()
    assert consent.opted_out


@pytest.fixture
def telegram_app(
    tmp_path: Path, fake_rasa: FakeRasa, twilio: TwilioDouble
) -> Iterator[tuple[TestClient, Services, TelegramDouble]]:
    bot_api = TelegramDouble().start()
    settings = make_settings(
        tmp_path / "telegram",
        telegram_bot_token="123456:test-bot-token",
        telegram_secret_token="telegram-secret-0123456789",
        telegram_api_base_url=bot_api.base_url,
        **LIMITS,
    )
    (tmp_path / "telegram").mkdir()
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=fake_rasa, safety_screen=chest_pain_screen)
    with TestClient(create_app(settings, services)) as client:
        yield client, services, bot_api
    bot_api.stop()


def test_a_telegram_burst_is_kept_and_acknowledged_and_answered_once_when_over(
    telegram_app: tuple[TestClient, Services, TelegramDouble], fake_rasa: FakeRasa
) -> None:
    client, services, bot_api = telegram_app
    for update_id in range(1, 7):
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": 4242, "type": "private"},
                "text": f"message {update_id}",
            },
        }
        response = client.post(
            "/channels/telegram",
            json=update,
            headers={SECRET_HEADER: "telegram-secret-0123456789"},
        )
        settle(client)
        assert response.status_code == 200
    assert fake_rasa.texts == ["message 1", "message 2", "message 3"]
    assert [message["text"] for message in bot_api.messages][-1] == SLOW_DOWN
    assert len(bot_api.messages) == 4
    with services.session_factory() as session:
        kept = session.scalars(select(Message).where(Message.direction == "in")).all()
    assert len(kept) == 6
    assert never_answered(services) == []
