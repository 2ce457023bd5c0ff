"""A test double of the Rasa gateway: records what the hub sends and answers from a script."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from backend.hub.rasa_gateway import AssistantUnavailable
from channels.base import Button, Reply

OFFER_BUTTONS = [
    Button(title="Yes please", payload="/affirm"),
    Button(title="No thanks", payload="/deny"),
]


@dataclass
class FakeRasa:
    """Answers "offer" with two buttons, "silence" with nothing, and anything else with an echo."""

    received: list[tuple[str, str]] = field(default_factory=list)
    sessions_started: list[str] = field(default_factory=list)
    interrupted: list[tuple[str, list[str]]] = field(default_factory=list)
    triggered: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    down: bool = False
    active_loop: bool = False
    paused: set[str] = field(default_factory=set)
    # (conversation id, author, text) of messages added to the history outside Rasa
    history: list[tuple[str, str, str]] = field(default_factory=list)
    # Awaited before answering, as if Rasa were working on the message meanwhile.
    while_thinking: Callable[[], Awaitable[None]] | None = None

    async def send(self, conversation_id: str, text: str) -> list[Reply]:
        if self.while_thinking is not None:
            await self.while_thinking()
        if self.down:
            raise AssistantUnavailable("message", "ConnectError")
        self.received.append((conversation_id, text))
        if text == "offer":
            return [Reply(text="Would you like a person?", buttons=list(OFFER_BUTTONS))]
        if text == "silence":
            return []
        return [Reply(text=f"echo: {text}")]

    async def replies_since(
        self, conversation_id: str, text: str, since: datetime
    ) -> list[Reply] | None:
        """What it answered `text` with, if it was received (a double keeps no times)."""
        for received_id, received_text in reversed(self.received):
            if (received_id, received_text) == (conversation_id, text):
                return [Reply(text=f"echo: {text}")]
        return None

    async def is_idle(self, conversation_id: str) -> bool:
        return not self.active_loop

    async def start_new_session(self, conversation_id: str) -> None:
        self.sessions_started.append(conversation_id)

    async def interrupt_for_emergency(self, conversation_id: str, said: list[str]) -> None:
        if self.down:
            raise AssistantUnavailable("emergency", "ConnectError")
        self.interrupted.append((conversation_id, said))

    async def pause(self, conversation_id: str) -> None:
        if self.down:
            raise AssistantUnavailable("pause", "ConnectError")
        self.paused.add(conversation_id)

    async def resume(self, conversation_id: str, said: list[str]) -> None:
        if self.down:
            raise AssistantUnavailable("resume", "ConnectError")
        self.paused.discard(conversation_id)
        self.history.extend((conversation_id, "bot", text) for text in said)

    async def record_bot_messages(self, conversation_id: str, said: list[str], author: str) -> None:
        if self.down:
            raise AssistantUnavailable("history", "ConnectError")
        self.history.extend((conversation_id, author, text) for text in said)

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: dict[str, str]
    ) -> list[Reply]:
        """Outreach: records the external intent and answers with one line naming it."""
        if self.down:
            raise AssistantUnavailable("trigger intent", "ConnectError")
        self.triggered.append((conversation_id, intent, dict(entities)))
        return [Reply(text=f"[{intent}]")]

    async def close(self) -> None:
        return None

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.received]
