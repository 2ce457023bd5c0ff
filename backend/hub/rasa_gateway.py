"""The hub's connection to Rasa: its REST channel for messages, its HTTP API for sessions."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from channels.base import Button, Reply


class AssistantUnavailable(Exception):
    """Rasa did not answer or answered with an error; the patient must be told, not ignored."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"Rasa {operation} failed: {reason}")
        self.operation = operation
        self.reason = reason


class RasaGateway(Protocol):
    """What the hub needs from the dialogue engine."""

    async def send(self, conversation_id: str, text: str) -> list[Reply]: ...

    async def is_idle(self, conversation_id: str) -> bool: ...

    async def start_new_session(self, conversation_id: str) -> None: ...


class HttpRasaGateway:
    """Talks to `rasa run --enable-api` over HTTP with the configured auth token."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._token = token

    async def _request(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, self._base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise AssistantUnavailable(operation, type(exc).__name__) from exc
        if response.status_code >= 400:
            raise AssistantUnavailable(operation, f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise AssistantUnavailable(operation, "answer is not JSON") from exc

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        body = {"sender": conversation_id, "message": text}
        data = await self._request("message", "POST", "/webhooks/rest/webhook", json=body)
        if not isinstance(data, list):
            raise AssistantUnavailable("message", "answer is not a list")
        return [reply for item in data if (reply := _parse_reply(item)) is not None]

    async def is_idle(self, conversation_id: str) -> bool:
        """True when no form or loop is active, so a new session would interrupt nothing."""
        tracker = await self._request(
            "tracker", "GET", f"/conversations/{conversation_id}/tracker",
            params={"include_events": "NONE", "token": self._token},
        )
        active_loop = tracker.get("active_loop") or {}
        return not active_loop.get("name")

    async def start_new_session(self, conversation_id: str) -> None:
        await self._request(
            "session start", "POST", f"/conversations/{conversation_id}/execute",
            params={"token": self._token, "include_events": "NONE"},
            json={"name": "action_session_start"},
        )


def _parse_reply(item: Any) -> Reply | None:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None  # images and custom payloads are not produced by this bot
    buttons = [
        Button(title=str(b["title"]), payload=str(b["payload"]))
        for b in item.get("buttons") or []
        if isinstance(b, dict) and "title" in b and "payload" in b
    ]
    return Reply(text=item["text"], buttons=buttons)
