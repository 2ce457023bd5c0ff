"""The hub's connection to Rasa: the hub channel for messages, its HTTP API for sessions.

Both are closed to anyone without RASA_TOKEN: the channel (bot/channels/hub_channel.py) wants
it as `Authorization: Bearer`, the HTTP API as the `token` parameter (docs/security.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp

from channels.base import Button, Reply

# bot/channels/hub_channel.py: Rasa's REST wire format, answering only the hub.
MESSAGE_PATH = "/webhooks/hub/webhook"


class AssistantUnavailable(Exception):
    """Rasa did not answer or answered with an error; the patient must be told, not ignored."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"Rasa {operation} failed: {reason}")
        self.operation = operation
        self.reason = reason


class RasaGateway(Protocol):
    """What the hub needs from the dialogue engine."""

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        """Rasa's replies to the patient's text."""
        ...

    async def replies_since(
        self, conversation_id: str, text: str, since: datetime
    ) -> list[Reply] | None:
        """What Rasa answered `text` with, if it processed it after `since`; else None."""
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


@dataclass
class _Instance:
    """One `rasa run` server and how many of this gateway's requests it is working on."""

    base: str
    in_flight: int = 0
    answered_at: float = -1e9  # time.monotonic() of its latest good answer


class HttpRasaGateway:
    """Talks to one or more `rasa run --enable-api` servers over HTTP with the auth token.

    Several servers (the scaled profile) share one tracker store and one lock store, so any
    of them can serve any conversation: each request goes to the one with the fewest of this
    gateway's requests in flight, round-robin among ties. An instance that refuses the
    connection is skipped for the next (nothing was sent). Any other failure is
    `AssistantUnavailable` and is not retried elsewhere: the request may have been delivered,
    and a message sent twice would be processed twice.

    aiohttp rather than httpx: measured here, a local round trip cost 0.5 ms with aiohttp and
    1.6 with httpx.
    """

    def __init__(self, base_urls: Sequence[str], token: str, timeout_s: float) -> None:
        if isinstance(base_urls, str):  # a str is a Sequence[str] too: one letter per "URL"
            raise TypeError("base_urls is a list of URLs, not one URL")
        if not base_urls:
            raise ValueError("at least one Rasa URL is needed")
        self._instances = [_Instance(url.rstrip("/")) for url in base_urls]
        self._next = 0  # where the round-robin among equally busy instances starts
        self._token = token
        self._channel_auth = {"Authorization": f"Bearer {token}"}  # what the hub channel wants
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def answered_within(self, base_url: str, seconds: float) -> bool:
        """Whether the instance at `base_url` answered a request in the last `seconds`: under
        load its health page may be slow while it keeps answering turns (/healthz)."""
        base = base_url.rstrip("/")
        now = time.monotonic()
        return any(i.base == base and now - i.answered_at <= seconds for i in self._instances)

    def _connected(self) -> aiohttp.ClientSession:
        if self._session is None:  # created lazily: it must belong to the running event loop
            # No cap on connections (aiohttp's default is 100 in all): the hub's turn gate
            # (HUB_MAX_TURNS) already bounds the turns waiting on Rasa, and a second, lower
            # bound here would queue turns out of sight, their wait counted against Rasa's
            # timeout. Idle connections are kept alive and reused (15 s, within the 120 s
            # Rasa keeps them open), so a busy hub holds about one per concurrent request.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    def _by_preference(self) -> list[_Instance]:
        """The instances, least busy first; among equally busy ones, round-robin."""
        count = len(self._instances)
        start = self._next
        rotated = [self._instances[(start + i) % count] for i in range(count)]
        ordered = sorted(rotated, key=lambda instance: instance.in_flight)  # stable: ties rotate
        self._next = (self._instances.index(ordered[0]) + 1) % count
        return ordered

    async def _request(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        session = self._connected()
        refused: aiohttp.ClientConnectorError | None = None
        for instance in self._by_preference():
            instance.in_flight += 1
            try:
                async with session.request(method, instance.base + path, **kwargs) as response:
                    body = await response.read()
            except aiohttp.ClientConnectorError as exc:
                refused = exc  # no connection, so nothing was sent: try the next instance
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise AssistantUnavailable(operation, type(exc).__name__) from exc
            finally:
                instance.in_flight -= 1
            decoded = _decoded(operation, response.status, body)
            instance.answered_at = time.monotonic()
            return decoded
        assert refused is not None
        raise AssistantUnavailable(operation, type(refused).__name__) from refused

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
            # The escalating action paused the dialogue before Rasa's own action_listen; without
            # it the next message is read as coming straight after that action, where no rule
            # or story applies, and "can I book an appointment" got the fallback (issue 20).
            {"event": "action", "name": "action_listen"},
        ]
        await self._append_events("resume", conversation_id, events)

    async def record_bot_messages(self, conversation_id: str, said: list[str], author: str) -> None:
        """Add messages sent outside Rasa (a clinician's replies) to its history, so the
        assistant's next turns see them; `author` is kept in the events' metadata."""
        events = [{"event": "bot", "text": text, "metadata": {"author": author}} for text in said]
        await self._append_events("history", conversation_id, events)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        body = {"sender": conversation_id, "message": text}
        data = await self._request(
            "message", "POST", MESSAGE_PATH, json=body, headers=self._channel_auth
        )
        if not isinstance(data, list):
            raise AssistantUnavailable("message", "answer is not a list")
        return [reply for item in data if (reply := _parse_reply(item)) is not None]

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

    async def replies_since(
        self, conversation_id: str, text: str, since: datetime
    ) -> list[Reply] | None:
        """A queued turn tried again (its worker died waiting for Rasa): if Rasa processed
        the message after `since`, its answer then, read from the tracker; else None. The
        conversation is locked meanwhile, so the latest such user message is this one."""
        tracker = await self._request(
            "tracker",
            "GET",
            f"/conversations/{conversation_id}/tracker",
            params={"include_events": "AFTER_RESTART", "token": self._token},
        )
        events = tracker.get("events") if isinstance(tracker, dict) else None
        return answer_in_events(events or [], text, since.timestamp())

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


def answer_in_events(events: list[Any], text: str, since: float) -> list[Reply] | None:
    """The bot messages after the latest user event with `text` at or after `since`."""
    for start in range(len(events) - 1, -1, -1):
        event = events[start]
        if not isinstance(event, dict) or event.get("event") != "user":
            continue
        if event.get("text") != text or float(event.get("timestamp") or 0) < since:
            return None  # the latest user message is another, or older: not answered
        replies = []
        for later in events[start + 1 :]:
            if isinstance(later, dict) and later.get("event") == "bot":
                data = later.get("data") or {}
                item = {"text": later.get("text"), "buttons": data.get("buttons")}
                if (reply := _parse_reply(item)) is not None:
                    replies.append(reply)
        return replies
    return None


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
