"""The web chat: the widget page at `/` and its WebSocket at `/ws/chat`, ending in the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from backend.hub import transcript
from backend.hub.admission import Busy
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.services import Services
from channels import webchat
from channels.base import InboundMessage, InvalidMessage

router = APIRouter(tags=["web chat"])
STATIC = Path(__file__).resolve().parents[2] / "webchat" / "static"
MAX_FRAME_BYTES = 16_384


@router.get("/", include_in_schema=False)
def chat_page() -> FileResponse:
    """The web chat widget."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


BUSY_TEXT = (
    "Many patients are writing right now: your message is kept and the assistant will answer "
    "it as soon as it can. Please keep this page open."
)
RETRY_TEXT = "The assistant is very busy right now; please send your message again in a moment."


def _unavailable_text(services: Services) -> str:
    return (
        "The assistant can't be reached right now. Your message was kept; please try again "
        f"in a moment. If this is an emergency, call {services.settings.emergency_number}."
    )


class _ChatSocket:
    """One browser tab's connection: a session token, then message and choice frames."""

    def __init__(self, socket: WebSocket, services: Services) -> None:
        self.socket = socket
        self.services = services
        self.token = ""
        self.conversation_id: str | None = None  # known once the conversation exists

    def attach(self, conversation_id: str) -> None:
        """Receive messages sent unprompted (a clinician's replies) on this socket."""
        if self.conversation_id is None:
            self.conversation_id = conversation_id
            self.services.live.attach_webchat(conversation_id, self.send)

    def detach(self) -> None:
        if self.conversation_id is not None:
            self.services.live.detach_webchat(self.conversation_id, self.send)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send_text(json.dumps(frame))

    async def error(self, kind: str, text: str) -> None:
        await self.send({"type": "error", "kind": kind, "text": text})

    async def start(self, hello: dict[str, Any]) -> None:
        token = hello.get("token")
        self.token = (
            token
            if isinstance(token, str) and webchat.is_plausible_token(token)
            else webchat.new_session_token()
        )
        await self.send({"type": "session", "token": self.token})
        # Off the event loop, in a database step of its own (backend/db/work.py).
        conversation_id, lines = await self.services.db.run(self._history)
        if conversation_id is not None:
            self.attach(conversation_id)
        history = [_entry(line) for line in lines]
        await self.send({"type": "history", "messages": history})

    def _history(self, session: Session) -> tuple[str | None, list[transcript.LoggedMessage]]:
        """(the conversation's id, its transcript); (None, []) for a new tab."""
        cipher = self.services.cipher
        conversation = transcript.find_conversation(
            session=session, cipher=cipher, channel=webchat.CHANNEL, address=self.token
        )
        if conversation is None:
            return None, []
        lines = transcript.transcript(
            session=session, cipher=cipher, conversation_id=conversation.id
        )
        return conversation.id, lines

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message" and isinstance(frame.get("text"), str):
            inbound = InboundMessage(webchat.CHANNEL, self.token, frame["text"])
        elif kind == "choice" and isinstance(frame.get("index"), int):
            inbound = InboundMessage(webchat.CHANNEL, self.token, "", choice_index=frame["index"])
        else:
            await self.error("invalid", "unknown frame: send {type: message, text} or choice")
            return
        await self.send({"type": "typing"})
        hub = self.services.hub
        if hub.busy:  # the message waits for a turn; the patient is told it is not lost
            await self.send({"type": "busy", "text": BUSY_TEXT})
        try:
            result = await hub.handle(inbound, patient_waits=True)
        except Busy:  # another worker held the conversation too long (scaled profile)
            await self.error("busy", RETRY_TEXT)
            return
        except InvalidMessage as exc:
            await self.error("invalid", exc.reason)
            return
        except AssistantUnavailable:
            await self.error("unavailable", _unavailable_text(self.services))
            return
        self.attach(result.conversation_id)
        at = transcript.utcnow().isoformat()
        for entry in webchat.reply_frames(result.replies, at):
            await self.send({"type": "bot", **entry})


def _entry(line: transcript.LoggedMessage) -> webchat.ChatEntry:
    entry = webchat.ChatEntry(author=line.author, text=line.text, at=line.at.isoformat())  # type: ignore[typeddict-item]
    if line.buttons:
        entry["buttons"] = [webchat.ButtonFrame(title=b["title"]) for b in line.buttons]
    return entry


def _parse_frame(raw: str) -> dict[str, Any] | None:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


@router.websocket("/ws/chat")
async def chat_socket(socket: WebSocket) -> None:
    services: Services = socket.app.state.services
    await socket.accept()
    chat = _ChatSocket(socket, services)
    try:
        started = False
        while True:
            frame = _parse_frame(await socket.receive_text())
            if frame is None:
                await chat.error("invalid", "frames must be JSON objects under 16 KB")
            elif not started:
                await chat.start(frame)
                started = True
            else:
                await chat.handle(frame)
    except WebSocketDisconnect:
        return
    finally:
        chat.detach()
