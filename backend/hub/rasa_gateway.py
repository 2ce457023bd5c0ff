"""The hub's connection to Rasa: its REST channel for messages, its HTTP API for sessions."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any, Protocol

import aiohttp

from backend.hub.lean_http import LeanHttp, LeanHttpError
from channels.base import Button, Reply

MESSAGE_PATH = "/webhooks/rest/webhook"


class AssistantUnavailable(Exception):
    """Rasa did not answer or answered with an error; the patient must be told, not ignored."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"Rasa {operation} failed: {reason}")
        self.operation = operation
        self.reason = reason


class RasaGateway(Protocol):
    """What the hub needs from the dialogue engine."""

    async def send(
        self, conversation_id: str, text: str, *, sent: asyncio.Event | None = None
    ) -> list[Reply]:
        """Rasa's replies to the patient's text; `sent` is set once the request has left."""
        ...

    async def is_idle(self, conversation_id: str) -> bool: ...

    async def start_new_session(self, conversation_id: str) -> None: ...

    async def interrupt_for_emergency(self, conversation_id: str, said: list[str]) -> None: ...

    async def pause(self, conversation_id: str) -> None: ...

    async def resume(self, conversation_id: str, said: list[str]) -> None: ...

    async def record_bot_messages(
        self, conversation_id: str, said: list[str], author: str
    ) -> None: ...

    async def close(self) -> None: ...


class HttpRasaGateway:
    """Talks to `rasa run --enable-api` over HTTP with the configured auth token.

    Patient messages, the request every message makes, go through `LeanHttp` when Rasa is
    reached over plain http (as `make run` does). The rarer calls use aiohttp rather than
    httpx: measured here, a local round trip cost 0.5 ms with aiohttp and 1.6 with httpx.
    """

    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._messages = LeanHttp(self._base, timeout_s) if LeanHttp.supports(base_url) else None
        # Tells a caller waiting on send(sent=...) that the request is on its way.
        self._trace = aiohttp.TraceConfig()
        self._trace.on_request_chunk_sent.append(_signal_sent)

    async def _request(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        if self._session is None:  # created lazily: it must belong to the running event loop
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, trace_configs=[self._trace]
            )
        try:
            async with self._session.request(method, self._base + path, **kwargs) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AssistantUnavailable(operation, type(exc).__name__) from exc
        return _decoded(operation, response.status, body)

    async def interrupt_for_emergency(self, conversation_id: str, said: list[str]) -> None:
        """Stop any form (a booking, a triage) and add the emergency guidance to the history.

        The red-flag screen answered without Rasa; this keeps Rasa's tracker whole and makes
        sure the next message does not resume, say, a booking as if nothing had happened.
        """
        events: list[dict[str, Any]] = [
            {"event": "active_loop", "name": None},
            {"event": "slot", "name": "requested_slot", "value": None},
            *({"event": "bot", "text": text} for text in said),
        ]
        await self._request(
            "emergency",
            "POST",
            f"/conversations/{conversation_id}/tracker/events",
            params={"token": self._token, "include_events": "NONE"},
            json=events,
        )

    async def _append_events(
        self, operation: str, conversation_id: str, events: list[dict[str, Any]]
    ) -> None:
        await self._request(
            operation,
            "POST",
            f"/conversations/{conversation_id}/tracker/events",
            params={"token": self._token, "include_events": "NONE"},
            json=events,
        )

    async def pause(self, conversation_id: str) -> None:
        """A clinician is taking over: Rasa predicts nothing for this conversation until resumed."""
        await self._append_events("pause", conversation_id, [{"event": "pause"}])

    async def resume(self, conversation_id: str, said: list[str]) -> None:
        """The hand-off is over: un-pause, with anything the hub said in the assistant's name."""
        events: list[dict[str, Any]] = [
            {"event": "resume"},
            *({"event": "bot", "text": text} for text in said),
        ]
        await self._append_events("resume", conversation_id, events)

    async def record_bot_messages(self, conversation_id: str, said: list[str], author: str) -> None:
        """Add messages sent outside Rasa (a clinician's replies) to its history, so the
        assistant's next turns see them; `author` is kept in the events' metadata."""
        events = [{"event": "bot", "text": text, "metadata": {"author": author}} for text in said]
        await self._append_events("history", conversation_id, events)

    async def close(self) -> None:
        if self._messages is not None:
            self._messages.close()
        if self._session is not None:
            await self._session.close()

    async def send(
        self, conversation_id: str, text: str, *, sent: asyncio.Event | None = None
    ) -> list[Reply]:
        body = {"sender": conversation_id, "message": text}
        if self._messages is None:
            data = await self._request(
                "message", "POST", MESSAGE_PATH, json=body, trace_request_ctx=sent
            )
        else:
            data = await self._post_message(self._messages, body, sent)
        if not isinstance(data, list):
            raise AssistantUnavailable("message", "answer is not a list")
        return [reply for item in data if (reply := _parse_reply(item)) is not None]

    @staticmethod
    async def _post_message(
        client: LeanHttp, body: dict[str, str], sent: asyncio.Event | None
    ) -> Any:
        try:
            status, answer = await client.post_json(
                MESSAGE_PATH, json.dumps(body).encode(), sent=sent
            )
        except LeanHttpError as exc:
            raise AssistantUnavailable("message", str(exc)) from exc
        return _decoded("message", status, answer)

    async def is_idle(self, conversation_id: str) -> bool:
        """True when no form or loop is active, so a new session would interrupt nothing."""
        tracker = await self._request(
            "tracker",
            "GET",
            f"/conversations/{conversation_id}/tracker",
            params={"include_events": "NONE", "token": self._token},
        )
        active_loop = tracker.get("active_loop") or {}
        return not active_loop.get("name")

    async def start_new_session(self, conversation_id: str) -> None:
        await self._request(
            "session start",
            "POST",
            f"/conversations/{conversation_id}/execute",
            params={"token": self._token, "include_events": "NONE"},
            json={"name": "action_session_start"},
        )

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, str]
    ) -> list[Reply]:
        """Run an external intent (outreach) as a turn of the conversation; what the bot says.

        Without an output channel Rasa collects the bot's messages and returns them, so the
        hub sends them on the patient's channel and the patient's reply continues from there.
        """
        data = await self._request(
            "trigger intent",
            "POST",
            f"/conversations/{conversation_id}/trigger_intent",
            params={"token": self._token, "include_events": "NONE"},
            json={"name": intent, "entities": entities},
        )
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise AssistantUnavailable("trigger intent", "answer has no messages")
        return [reply for item in messages if (reply := _parse_reply(item)) is not None]


async def _signal_sent(
    _session: aiohttp.ClientSession,
    context: SimpleNamespace,
    _params: aiohttp.TraceRequestChunkSentParams,
) -> None:
    """aiohttp calls this as the request body is written (right after this returns)."""
    sent = getattr(context, "trace_request_ctx", None)
    if isinstance(sent, asyncio.Event):
        sent.set()


def _decoded(operation: str, status: int, body: bytes) -> Any:
    """Rasa's JSON answer; an error status or a body that is not JSON means unavailable."""
    if status >= 400:
        raise AssistantUnavailable(operation, f"HTTP {status}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise AssistantUnavailable(operation, "answer is not JSON") from exc


def _parse_reply(item: Any) -> Reply | None:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None  # images and custom payloads are not produced by this bot
    buttons = [
        Button(title=str(b["title"]), payload=str(b["payload"]))
        for b in item.get("buttons") or []
        if isinstance(b, dict) and "title" in b and "payload" in b
    ]
    return Reply(text=item["text"], buttons=buttons)
