"""Telegram: secret token checked, updates through the hub, inline keyboards, odd updates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.main import create_app
from backend.services import Services, build_services
from channels.telegram import PRIVATE_ONLY_TEXT, SECRET_HEADER, UNSUPPORTED_TEXT
from tests.backend.conftest import make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.telegram_double import TelegramDouble
from tests.utils.twilio_channel import settle, stored_messages

SECRET = "telegram-secret-0123456789"
BOT_TOKEN = "123456:test-bot-token"
CHAT = 424242
WEBHOOK = "/channels/telegram"
_ids = count(1)


@pytest.fixture
def bot_api() -> Iterator[TelegramDouble]:
    double = TelegramDouble().start()
    yield double
    double.stop()


@pytest.fixture
def settings(tmp_path: Path, bot_api: TelegramDouble) -> Settings:
    built = make_settings(
        tmp_path,
        telegram_bot_token=BOT_TOKEN,
        telegram_secret_token=SECRET,
        telegram_api_base_url=bot_api.base_url,
    )
    upgrade(built.effective_database_url)
    return built


def text_update(text: str, *, update_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": update_id or next(_ids),
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Pat"},
            "text": text,
        },
    }


def button_press(index: int) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Pat"},
            "chat_instance": "x",
            "data": f"choice:{index}",
            "message": {"message_id": 2, "date": 0, "chat": {"id": CHAT, "type": "private"}},
        },
    }


def post(client: TestClient, update: Any, *, secret: str | None = SECRET):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = client.post(WEBHOOK, json=update, headers=headers)
    settle(client)  # the update's turn runs from the queue, after the webhook's answer
    return response


def test_a_text_message_is_answered_through_the_bot_api(
    client: TestClient, fake_rasa: FakeRasa, bot_api: TelegramDouble
) -> None:
    assert post(client, text_update("hello")).status_code == 200
    assert fake_rasa.texts == ["hello"]
    [message] = bot_api.messages
    assert message["text"] == "echo: hello" and int(message["chat_id"]) == CHAT
    assert bot_api.calls[0].token == BOT_TOKEN
    assert str(CHAT) not in fake_rasa.received[0][0]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_a_missing_or_wrong_secret_is_refused(
    client: TestClient, services: Services, bot_api: TelegramDouble, secret: str | None
) -> None:
    assert post(client, text_update("hello"), secret=secret).status_code == 403
    assert stored_messages(services) == 0 and bot_api.calls == []


def test_a_duplicate_update_id_is_ignored(
    client: TestClient, fake_rasa: FakeRasa, bot_api: TelegramDouble
) -> None:
    update = text_update("hello")
    post(client, update)
    post(client, update)
    assert fake_rasa.texts == ["hello"] and len(bot_api.messages) == 1


def test_buttons_are_an_inline_keyboard_and_a_press_continues_the_dialogue(
    client: TestClient, fake_rasa: FakeRasa, bot_api: TelegramDouble
) -> None:
    post(client, text_update("offer"))
    markup = bot_api.messages[0]["reply_markup"]
    keyboard = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["Yes please"], ["No thanks"]]
    assert keyboard[0][0]["callback_data"] == "choice:0"
    assert post(client, button_press(0)).status_code == 200
    assert fake_rasa.texts == ["offer", "/affirm"]
    assert any(call.method == "answerCallbackQuery" for call in bot_api.calls)


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 9001,
            "message": {
                "message_id": 3,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "sticker": {"file_id": "x"},
            },
        },
        {
            "update_id": 9002,
            "message": {
                "message_id": 4,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "photo": [{"file_id": "p"}],
            },
        },
        {
            "update_id": 9003,
            "edited_message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "text": "edit",
            },
        },
        {"update_id": 9004, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}, "date": 0}},
    ],
)
def test_updates_that_are_not_text_get_a_polite_answer(
    client: TestClient,
    services: Services,
    fake_rasa: FakeRasa,
    bot_api: TelegramDouble,
    update: dict,
) -> None:
    assert post(client, update).status_code == 200
    assert bot_api.texts == [UNSUPPORTED_TEXT]
    assert fake_rasa.received == [] and stored_messages(services) == 0


@pytest.mark.parametrize("body", [[], {"message": {}}, {"update_id": "1"}, "null"])
def test_malformed_updates_are_a_clear_400(
    client: TestClient, services: Services, body: Any
) -> None:
    response = post(client, body)
    assert response.status_code == 400 and response.json()["detail"]
    assert stored_messages(services) == 0


def test_a_body_that_is_not_json_is_a_clear_400(client: TestClient) -> None:
    response = client.post(WEBHOOK, content=b"{nope", headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400


def test_an_empty_text_gets_the_reason_and_nothing_is_stored(
    client: TestClient, services: Services, bot_api: TelegramDouble
) -> None:
    assert post(client, text_update("   ")).status_code == 200
    assert stored_messages(services) == 0
    assert "empty" in bot_api.texts[0]


def test_with_no_secret_configured_every_update_is_refused(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    from backend.main import create_app
    from backend.services import build_services

    bare = make_settings(tmp_path)
    upgrade(bare.effective_database_url)
    with TestClient(create_app(bare, build_services(bare, rasa=fake_rasa))) as bare_client:
        assert post(bare_client, text_update("hi"), secret="").status_code == 403


def test_without_a_bot_token_replies_go_to_the_dev_outbox(
    tmp_path: Path, fake_rasa: FakeRasa, bot_api: TelegramDouble
) -> None:
    from backend.main import create_app
    from backend.services import build_services

    dev = make_settings(tmp_path, env="development", telegram_secret_token=SECRET)
    upgrade(dev.effective_database_url)
    app = create_app(dev, build_services(dev, rasa=fake_rasa))
    with TestClient(app, client=("127.0.0.1", 50000)) as dev_client:  # the outbox: loopback
        post(dev_client, text_update("offer"))
        [entry] = dev_client.get("/dev/outbox.json").json()
    assert bot_api.calls == []
    assert entry["channel"] == "telegram" and entry["to"] == str(CHAT)
    assert entry["text"] == "Would you like a person?\n[Yes please]\n[No thanks]"


def test_start_up_registers_the_webhook_with_its_secret(
    settings: Settings, bot_api: TelegramDouble, fake_rasa: FakeRasa
) -> None:
    """Webhook mode: at start-up the hub tells Telegram its public URL and the secret token
    Telegram must send back with every update."""
    with TestClient(create_app(settings, build_services(settings, rasa=fake_rasa))):
        pass
    [call] = bot_api.webhook_registrations
    assert call.params["url"] == f"{settings.public_base_url}/channels/telegram"
    assert call.params["secret_token"] == SECRET
    assert "callback_query" in str(call.params["allowed_updates"])


def test_start_up_survives_telegram_refusing_the_webhook(
    settings: Settings, fake_rasa: FakeRasa
) -> None:
    unreachable = settings.model_copy(update={"telegram_api_base_url": "http://127.0.0.1:9"})
    app = create_app(unreachable, build_services(unreachable, rasa=fake_rasa))
    with TestClient(app) as client:
        assert client.get("/channels/telegram").status_code == 405  # up, and routing


@pytest.mark.parametrize("kind", ["group", "supergroup", "channel"])
def test_a_group_chat_is_asked_to_talk_privately_and_nothing_is_stored(
    client: TestClient,
    services: Services,
    fake_rasa: FakeRasa,
    bot_api: TelegramDouble,
    kind: str,
) -> None:
    update = text_update("my chest hurts")
    update["message"]["chat"] = {"id": -100123, "type": kind, "title": "Family"}
    assert post(client, update).status_code == 200
    assert bot_api.texts == [PRIVATE_ONLY_TEXT]
    assert fake_rasa.received == [] and stored_messages(services) == 0
