"""The web chat socket: session tokens, history after reconnect, typing, buttons, bad frames.

Token lifetimes, the replayed transcript after a verification and the Origin check have their
own files (tests/backend/test_webchat_*.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.utils.fake_rasa import FakeRasa

# The hub's own origin under the test settings (PUBLIC_BASE_URL's default).
ORIGIN = "http://127.0.0.1:8000"


def hello(ws: WebSocketTestSession, token: str | None) -> tuple[dict[str, Any], list[Any]]:
    """Send the hello; (the session frame, the replayed history)."""
    ws.send_json({"type": "hello", "token": token})
    session = ws.receive_json()
    history = ws.receive_json()
    assert session["type"] == "session" and history["type"] == "history"
    return session, history["messages"]


@contextmanager
def open_chat(
    client: TestClient, token: str | None = None
) -> Iterator[tuple[WebSocketTestSession, str, list[Any]]]:
    """A connected chat socket after the hello: (socket, session token, history)."""
    with client.websocket_connect("/ws/chat", headers={"Origin": ORIGIN}) as ws:
        session, history = hello(ws, token)
        yield ws, session["token"], history


def say(ws: WebSocketTestSession, frame: dict[str, Any], replies: int = 1) -> list[Any]:
    ws.send_json(frame)
    frames = [ws.receive_json() for _ in range(replies + 1)]
    assert frames[0] == {"type": "typing"}
    return frames[1:]


def test_page_is_served_at_the_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "/static/chat.js" in response.text
    assert client.get("/static/chat.js").status_code == 200


def test_a_message_gets_typing_then_the_reply(client: TestClient) -> None:
    with open_chat(client) as (ws, _, history):
        assert history == []
        (reply,) = say(ws, {"type": "message", "text": "hello"})
    assert reply["type"] == "bot" and reply["text"] == "echo: hello"


def test_reconnecting_with_the_token_shows_the_history(client: TestClient) -> None:
    with open_chat(client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
    with open_chat(client, token) as (_, same_token, history):
        pass
    assert same_token == token
    assert [(m["author"], m["text"]) for m in history] == [
        ("patient", "hello"),
        ("bot", "echo: hello"),
    ]


def test_a_new_tab_without_token_starts_a_new_conversation(client: TestClient) -> None:
    with open_chat(client) as (ws, first, _):
        say(ws, {"type": "message", "text": "hello"})
    with open_chat(client, None) as (_, second, history):
        pass
    assert second != first and history == []


def test_a_choice_sends_the_buttons_payload(client: TestClient, fake_rasa: FakeRasa) -> None:
    with open_chat(client) as (ws, _, _):
        (offer,) = say(ws, {"type": "message", "text": "offer"})
        assert offer["buttons"] == [{"title": "Yes please"}, {"title": "No thanks"}]
        say(ws, {"type": "choice", "index": 1})
        ws.send_json({"type": "choice", "index": 5})
        assert ws.receive_json() == {"type": "typing"}
        error = ws.receive_json()
    assert fake_rasa.texts == ["offer", "/deny"]
    assert error["type"] == "error" and error["kind"] == "invalid"


def test_bad_frames_get_an_error_and_the_socket_stays_open(client: TestClient) -> None:
    with open_chat(client) as (ws, _, _):
        ws.send_text("not json")
        assert ws.receive_json()["kind"] == "invalid"
        ws.send_text('{"type": "message", "text": ' + '"x"' * 0 + "42}")
        assert ws.receive_json()["kind"] == "invalid"
        ws.send_text("x" * 20_000)
        assert ws.receive_json()["kind"] == "invalid"
        (reply,) = say(ws, {"type": "message", "text": "still here"})
    assert reply["text"] == "echo: still here"


def test_rasa_down_is_reported_as_unavailable(client: TestClient, fake_rasa: FakeRasa) -> None:
    fake_rasa.down = True
    with open_chat(client) as (ws, _, _):
        (error,) = say(ws, {"type": "message", "text": "hello"})
    assert error["type"] == "error" and error["kind"] == "unavailable"
    assert "can't be reached" in error["text"]
