"""The hub channel: Rasa's REST wire format, answering only requests with the hub's secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage, register
from rasa.core.run import create_http_input_channels
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.hub_channel import HubInput
from bot.shared_secret import WeakSecret
from tests.bot.conftest import Serve

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hub-secret-0123456789"
WEBHOOK = "/webhooks/hub/webhook"  # the hub's MESSAGE_PATH (backend/hub/rasa_gateway.py)


class FakeAgent:
    """Stands in for Rasa's agent: records each message and answers as the bot would, with a
    text and its buttons, then a custom payload."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        channel = message.output_channel
        buttons = [{"title": "Yes", "payload": "/affirm"}]
        await channel.send_text_with_buttons(message.sender_id, f"you said {message.text}", buttons)
        await channel.send_custom_json(message.sender_id, {"kind": "survey"})


async def rasa_with_hub_channel(serve: Serve, agent: FakeAgent) -> str:
    """A Sanic app with the channel registered as `rasa run` registers it, and a health page
    of its own (like Rasa's `/`)."""
    app = Sanic("hub-channel-test")
    app.ctx.agent = agent

    @app.get("/")
    async def health(_: Request) -> HTTPResponse:
        return response.text("Hello from Rasa")

    register([HubInput(TOKEN)], app, route="/webhooks/")
    return await serve(app)


async def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers or {}) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def test_the_hub_gets_the_rest_channels_answer_buttons_and_custom_payloads_included(
    serve: Serve,
) -> None:
    agent = FakeAgent()
    base = await rasa_with_hub_channel(serve, agent)
    status, answer = await post(
        base + WEBHOOK,
        {"sender": "conv-1", "message": "hello"},
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 200
    assert answer == [
        {
            "recipient_id": "conv-1",
            "text": "you said hello",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
        },
        {"recipient_id": "conv-1", "custom": {"kind": "survey"}},
    ]
    [message] = agent.messages
    assert (message.sender_id, message.text, message.input_channel) == ("conv-1", "hello", "hub")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret-0123456"},
        {"Authorization": TOKEN},  # not as a bearer
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": "Bearer "},
        {"X-Hub-Token": TOKEN},
    ],
    ids=["none", "wrong", "not-bearer", "longer", "shorter", "empty", "other-header"],
)
async def test_a_message_without_the_hubs_secret_is_refused_before_the_dialogue_sees_it(
    serve: Serve, headers: dict[str, str]
) -> None:
    agent = FakeAgent()
    base = await rasa_with_hub_channel(serve, agent)
    status, _ = await post(base + WEBHOOK, {"sender": "x", "message": "hello"}, headers)
    assert status == 401
    assert agent.messages == []


async def test_the_secret_in_the_query_string_does_not_open_the_channel(serve: Serve) -> None:
    """The HTTP API takes `?token=`; the channel wants the header, so the secret is never
    needed in a URL (which access logs keep)."""
    agent = FakeAgent()
    base = await rasa_with_hub_channel(serve, agent)
    status, _ = await post(f"{base}{WEBHOOK}?token={TOKEN}", {"sender": "x", "message": "hi"})
    assert status == 401 and agent.messages == []


async def test_the_channels_secret_leaves_rasas_other_routes_alone(serve: Serve) -> None:
    base = await rasa_with_hub_channel(serve, FakeAgent())
    async with aiohttp.ClientSession() as session, session.get(base + "/") as answer:
        assert answer.status == 200  # the supervisor's and the hub's health checks


def test_credentials_yml_opens_the_hub_channel_and_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    channels = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert [type(channel) for channel in channels] == [HubInput]
    assert channels[0].url_prefix() == "hub"


def test_the_channel_takes_its_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    with pytest.raises(WeakSecret, match="RASA_TOKEN is not set"):
        HubInput.from_credentials(None)
    monkeypatch.setenv("RASA_TOKEN", "dev-rasa-token")
    monkeypatch.setenv("ENV", "development")
    assert isinstance(HubInput.from_credentials(None), HubInput)  # fine on a laptop
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(WeakSecret, match="RASA_TOKEN is a placeholder"):
        HubInput.from_credentials(None)
    with pytest.raises(ValueError):
        HubInput("")
