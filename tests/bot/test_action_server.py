"""The action server answers Rasa only: the secret on every call, the body capped."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.utils.endpoints import ClientResponseError, read_endpoint_config

import bot.action_server
from bot.action_server import MAX_BODY_BYTES, create_app, parse_args
from bot.shared_secret import WeakSecret, secret_from_env
from tests.bot.conftest import Serve

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "actions-secret-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ACTIONS = "tests.bot.echo_actions"
SMALL_LIMIT = 64 * 1024  # the cap in these tests, so that sending past it stays quick


def action_call(text: str = "hello", name: str = "action_test_echo") -> dict[str, Any]:
    """What Rasa posts to /webhook to run an action (Rasa 3.6's format, trimmed)."""
    tracker = {
        "sender_id": "conv-1",
        "slots": {},
        "latest_message": {"text": text, "intent": {}, "entities": []},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    call = {"next_action": name, "sender_id": "conv-1", "tracker": tracker, "domain": {}}
    return {**call, "version": "3.6.21"}


async def post(
    url: str, data: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


@pytest.fixture
async def actions(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(bot.action_server, "MAX_BODY_BYTES", SMALL_LIMIT)
    return await serve(create_app(TOKEN, ACTIONS))


async def test_an_action_call_with_the_secret_is_run(actions: str) -> None:
    status, answer = await post(actions + "/webhook", json.dumps(action_call()).encode(), AUTH)
    assert status == 200
    assert [r["text"] for r in answer["responses"]] == ["echo: hello"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-secret-01234567"}, {"Authorization": TOKEN}],
    ids=["none", "wrong", "not-bearer"],
)
async def test_an_action_call_without_the_secret_is_refused(
    actions: str, headers: dict[str, str]
) -> None:
    status, answer = await post(actions + "/webhook", json.dumps(action_call()).encode(), headers)
    assert status == 401
    assert "responses" not in answer


async def test_only_the_health_page_is_open_to_anyone(actions: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(actions + "/health") as health:
            assert health.status == 200
        async with session.get(actions + "/actions") as listing:
            assert listing.status == 401  # which actions exist is Rasa's business only
        async with session.get(actions + "/actions", headers=AUTH) as listing:
            assert {"name": "action_test_echo"} in await listing.json()


async def test_a_body_past_the_cap_is_refused(actions: str) -> None:
    padded = action_call("x" * SMALL_LIMIT)
    status, _ = await post(actions + "/webhook", json.dumps(padded).encode(), AUTH)
    assert status == 413


async def test_a_deflate_body_that_inflates_past_the_cap_is_refused(actions: str) -> None:
    bomb = zlib.compress(json.dumps(action_call("x" * 50 * SMALL_LIMIT)).encode())
    assert len(bomb) < SMALL_LIMIT / 10  # small on the wire, 50 times the cap inflated
    headers = {**AUTH, "Content-Encoding": "deflate"}
    status, answer = await post(actions + "/webhook", bomb, headers)
    assert (status, answer["error"]) == (413, "the inflated body is too large")


async def test_a_stranger_s_deflate_body_is_not_even_inflated(actions: str) -> None:
    status, answer = await post(
        actions + "/webhook", b"not deflate at all", {"Content-Encoding": "deflate"}
    )
    assert status == 401  # not 400: the secret is checked first
    status, answer = await post(
        actions + "/webhook", b"not deflate at all", {**AUTH, "Content-Encoding": "deflate"}
    )
    assert (status, answer["error"]) == (400, "the body is not valid deflate data")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "deflate"])
async def test_rasa_calls_the_action_server_with_the_secret_endpoints_yml_names(
    actions: str, monkeypatch: pytest.MonkeyPatch, compress: bool
) -> None:
    """Rasa's own client (EndpointConfig, as Rasa's RemoteAction uses it) with endpoints.yml;
    Rasa deflates action calls when COMPRESS_ACTION_SERVER_REQUEST is set."""
    monkeypatch.setenv("ACTIONS_URL", actions)
    monkeypatch.setenv("ACTIONS_TOKEN", TOKEN)
    monkeypatch.setenv("RASA_TRACKER_DB", "unused.db")
    endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint is not None
    answer = await endpoint.request(json=action_call("hi"), method="post", compress=compress)
    assert [r["text"] for r in answer["responses"]] == ["echo: hi"]
    monkeypatch.setenv("ACTIONS_TOKEN", "another-secret-0123456")
    stranger = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert stranger is not None
    with pytest.raises(ClientResponseError) as refused:
        await stranger.request(json=action_call("hi"), method="post", compress=compress)
    assert refused.value.status == 401


def test_the_server_caps_bodies_and_listens_on_loopback_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.action_server.Sanic, "test_mode", True)
    assert create_app(TOKEN, ACTIONS).config.REQUEST_MAX_SIZE == MAX_BODY_BYTES
    assert parse_args([]).host == "127.0.0.1"
    assert parse_args(["--host", "10.0.0.5"]).host == "10.0.0.5"
    with pytest.raises(ValueError):
        create_app("", ACTIONS)


def test_the_secret_comes_from_the_environment_and_placeholders_stay_on_laptops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACTIONS_TOKEN", raising=False)
    with pytest.raises(WeakSecret, match="ACTIONS_TOKEN is not set"):
        secret_from_env("ACTIONS_TOKEN")
    monkeypatch.setenv("ACTIONS_TOKEN", "dev-actions-token")
    monkeypatch.setenv("ENV", "development")
    assert secret_from_env("ACTIONS_TOKEN") == "dev-actions-token"
    for env, value in [("production", "dev-actions-token"), ("test", "short")]:
        monkeypatch.setenv("ENV", env)
        monkeypatch.setenv("ACTIONS_TOKEN", value)
        with pytest.raises(WeakSecret, match="placeholder or too short"):
            secret_from_env("ACTIONS_TOKEN")
