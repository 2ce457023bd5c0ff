"""Web chat session tokens: issued by the server, kept only as a keyed hash, with idle and
absolute lifetimes; an unknown or expired token never reaches anyone's conversation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from backend.api.routes import webchat as webchat_route
from backend.core.config import Settings
from backend.db.models import Conversation, WebchatSession, utcnow
from backend.services import Services
from backend.webchat.sessions import token_hash
from channels import webchat
from tests.backend.test_webchat_socket import ORIGIN, hello, open_chat, say

CHOSEN = "a-token-the-browser-made-up-0123456789"


def backdate(services: Services, token: str, *, idle: timedelta, age: timedelta) -> None:
    """Make the token's last use `idle` ago and its issue `age` ago (instead of waiting)."""
    now = utcnow()
    with services.session_factory() as session:
        session.execute(
            update(WebchatSession)
            .where(WebchatSession.token_hash == token_hash(services.cipher, token))
            .values(last_seen_at=now - idle, created_at=now - age)
        )
        session.commit()


def web_conversations(services: Services) -> int:
    with services.session_factory() as session:
        query = select(func.count()).select_from(Conversation).where(Conversation.channel == "web")
        return int(session.scalar(query) or 0)


def test_a_new_tab_gets_a_server_issued_token(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat", headers={"Origin": ORIGIN}) as ws:
        session, history = hello(ws, None)
    assert session["restarted"] is False and history == []
    assert len(session["token"]) >= 40  # 32 random bytes, url-safe


def test_a_token_the_client_chose_is_never_adopted(client: TestClient) -> None:
    with open_chat(client, CHOSEN) as (ws, first, history):
        say(ws, {"type": "message", "text": "my private question"})
    with open_chat(client, CHOSEN) as (_, second, replayed):
        pass
    assert first != CHOSEN and second != CHOSEN and second != first
    assert history == [] and replayed == []  # the chosen token names no conversation


def test_an_unknown_token_is_told_it_restarted(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat", headers={"Origin": ORIGIN}) as ws:
        session, _ = hello(ws, CHOSEN)
    assert session["restarted"] is True and session["token"] != CHOSEN


def test_only_a_keyed_hash_of_the_token_is_stored(
    client: TestClient, services: Services, settings: Settings
) -> None:
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
    with services.session_factory() as session:
        (row,) = session.scalars(select(WebchatSession)).all()
    assert row.token_hash == token_hash(services.cipher, token)
    database = Path(settings.effective_database_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert token.encode() not in stored  # no copy, encrypted or not, names it


def test_a_token_idle_past_its_lifetime_gets_a_fresh_conversation(
    client: TestClient, services: Services, settings: Settings
) -> None:
    idle = timedelta(minutes=settings.webchat_session_idle_minutes)
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
    backdate(services, token, idle=idle + timedelta(minutes=1), age=idle + timedelta(minutes=1))

    with open_chat(client, token) as (ws, renewed, history):
        session_frame_token = renewed
        say(ws, {"type": "message", "text": "hello again"})
    assert session_frame_token != token and history == []
    assert web_conversations(services) == 2
    with open_chat(client, token) as (_, third, history):  # the old token stays dead
        pass
    assert third not in (token, renewed) and history == []


def test_a_token_used_within_its_idle_lifetime_keeps_its_conversation(
    client: TestClient, services: Services, settings: Settings
) -> None:
    idle = timedelta(minutes=settings.webchat_session_idle_minutes)
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
    backdate(services, token, idle=idle - timedelta(minutes=1), age=timedelta(hours=3))
    with open_chat(client, token) as (_, same, history):
        pass
    assert same == token and [m["text"] for m in history] == ["hello", "echo: hello"]


def test_a_token_past_its_absolute_lifetime_expires_however_busy(
    client: TestClient, services: Services, settings: Settings
) -> None:
    age = timedelta(hours=settings.webchat_session_max_hours, minutes=1)
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
    backdate(services, token, idle=timedelta(0), age=age)
    with client.websocket_connect("/ws/chat", headers={"Origin": ORIGIN}) as ws:
        session, history = hello(ws, token)
    assert session["restarted"] is True and session["token"] != token and history == []


def test_an_open_tab_past_the_absolute_lifetime_moves_to_a_new_conversation(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    age = timedelta(hours=settings.webchat_session_max_hours, minutes=1)
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
        # The tab stays open past the absolute lifetime (the sessions' clock moves on).
        monkeypatch.setattr(webchat_route, "clock", lambda: utcnow() + age)
        ws.send_json({"type": "message", "text": "still there?"})
        frames = [ws.receive_json()]
        while frames[-1]["type"] != "bot":
            frames.append(ws.receive_json())
    session, history = frames[0], frames[1]
    assert [frame["type"] for frame in frames] == ["session", "history", "typing", "bot"]
    assert session == {"type": "session", "token": session["token"], "restarted": True}
    assert session["token"] != token and history == {"type": "history", "messages": []}
    with open_chat(client, session["token"]) as (_, same, replayed):
        pass
    assert same == session["token"]  # the message was kept, in the new conversation
    assert [m["text"] for m in replayed] == ["still there?", "echo: still there?"]


def test_presented_tokens_are_read_from_the_hello_frame() -> None:
    assert webchat.presented_token({"type": "hello", "token": CHOSEN}) == CHOSEN
    assert webchat.presented_token({"type": "hello", "token": None}) is None
    assert webchat.presented_token({"type": "hello", "token": 42}) is None
    assert webchat.presented_token({"type": "hello"}) is None
