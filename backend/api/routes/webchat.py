"""The web chat: the widget page at `/` and its WebSocket at `/ws/chat`, ending in the hub."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from backend.api.rate_limits import rate_limits_of
from backend.hub import transcript
from backend.hub.admission import Busy
from backend.hub.rasa_gateway import AssistantUnavailable
from backend.hub.throttling import chat_slow_down, never_throttled
from backend.identity.sources import note_client_seen
from backend.services import Services
from backend.webchat import replay, sessions
from backend.webchat.origins import allowed_origins
from channels import webchat
from channels.base import InboundMessage, InvalidMessage

router = APIRouter(tags=["web chat"])
STATIC = Path(__file__).resolve().parents[2] / "webchat" / "static"
MAX_FRAME_BYTES = 16_384
# An open tab restarts its token's idle clock at most this often (one write, not one per
# message); its disconnect restarts it too.
TOUCH_EVERY = timedelta(minutes=1)
ORIGIN_REFUSED = (
    "this page may not open the web chat: its Origin is not in WEBCHAT_ALLOWED_ORIGINS "
    "(open the chat from the clinic's own site)"
)


def clock() -> datetime:
    """Now, for session lifetimes (one name, so that tests can move it forward)."""
    return transcript.utcnow()


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
    """One browser tab's connection: a `hello` answered with a session, then message and
    choice frames."""

    def __init__(self, socket: WebSocket, services: Services) -> None:
        self.socket = socket
        self.services = services
        self.lifetime = sessions.Lifetime.from_settings(services.settings)
        self.session: sessions.ChatSession | None = None  # once the hello is answered
        self.touched_at = clock()
        self.conversation_id: str | None = None  # known once the conversation exists

    def attach(self, conversation_id: str) -> None:
        """Receive messages sent unprompted (a clinician's replies) on this socket."""
        if self.conversation_id is None:
            self.conversation_id = conversation_id
            self.services.live.attach_webchat(conversation_id, self.send)

    def detach(self) -> None:
        if self.conversation_id is not None:
            self.services.live.detach_webchat(self.conversation_id, self.send)
            self.conversation_id = None

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send_text(json.dumps(frame))

    async def error(self, kind: str, text: str) -> None:
        await self.send({"type": "error", "kind": kind, "text": text})

    async def start(self, presented: str | None) -> sessions.ChatSession:
        """Answer the hello: the token's session (or a new one), then what the tab may see."""
        now = clock()
        self.detach()  # a renewed session is another conversation

        def step(db: Session) -> tuple[sessions.ChatSession, str | None, list[webchat.ChatEntry]]:
            chat = sessions.open_session(
                session=db,
                cipher=self.services.cipher,
                presented=presented,
                lifetime=self.lifetime,
                now=now,
            )
            return (chat, *self._history(db, chat.address))

        # Off the event loop, in a database step of its own (backend/db/work.py).
        chat, conversation_id, history = await self.services.db.run(step)
        self.session, self.touched_at = chat, now
        frame = webchat.SessionFrame(type="session", token=chat.token, restarted=chat.restarted)
        await self.send(dict(frame))
        if conversation_id is not None:
            self.attach(conversation_id)
        await self.send({"type": "history", "messages": history})
        return chat

    def _history(self, db: Session, address: str) -> tuple[str | None, list[webchat.ChatEntry]]:
        """(the conversation's id, the transcript it may replay); (None, []) for a new tab."""
        cipher = self.services.cipher
        conversation = transcript.find_conversation(
            session=db, cipher=cipher, channel=webchat.CHANNEL, address=address
        )
        if conversation is None:
            return None, []
        lines = transcript.transcript(session=db, cipher=cipher, conversation_id=conversation.id)
        seen = replay.verification(
            session=db, cipher=cipher, conversation_id=conversation.id, now=transcript.utcnow()
        )
        return conversation.id, replay.replayed(lines, seen)

    async def current_session(self) -> sessions.ChatSession:
        """The tab's live session: past its absolute lifetime the tab is moved to a new one
        (and told) before its message is taken; otherwise its idle clock is kept running."""
        assert self.session is not None
        now = clock()
        if self.session.outlived(self.lifetime, now):
            return await self.start(self.session.token)  # expired: a fresh session
        if now - self.touched_at > TOUCH_EVERY:
            await self.touch(now)
        return self.session

    async def touch(self, now: datetime) -> None:
        if self.session is not None:
            hashed = self.session.token_hash
            await self.services.db.run(
                lambda db: sessions.touch(session=db, token_hash=hashed, now=now)
            )
            self.touched_at = now

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message" and isinstance(frame.get("text"), str):
            address = (await self.current_session()).address
            inbound = InboundMessage(webchat.CHANNEL, address, frame["text"])
        elif kind == "choice" and isinstance(frame.get("index"), int):
            address = (await self.current_session()).address
            inbound = InboundMessage(webchat.CHANNEL, address, "", choice_index=frame["index"])
        else:
            await self.error("invalid", "unknown frame: send {type: message, text} or choice")
            return
        if await self.throttled(inbound):
            return
        await self.note_client(inbound.address)
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

    async def note_client(self, address: str) -> None:
        """Identity limits count per client address too, so a new tab or token brings no fresh
        attempts (backend/identity/sources.py)."""
        client = self.socket.client
        if client is None:
            return
        await note_client_seen(
            self.services.db,
            self.services.cipher,
            channel=webchat.CHANNEL,
            address=address,
            client=client.host,
        )

    async def throttled(self, inbound: InboundMessage) -> bool:
        """Over a rate limit (per conversation, per client address), a message is refused
        with a "slow down" frame and not stored, unless the red-flag screen flags it
        (backend/hub/throttling.py)."""
        services, client = self.services, self.socket.client
        limits = rate_limits_of(self.socket.app, services)
        over = await limits.admit(
            address_key=services.cipher.address_hash(webchat.CHANNEL, inbound.address),
            client_key=services.cipher.address_hash("rate-client", client.host) if client else None,
        )
        if over is None or await never_throttled(services.hub, inbound):
            return False
        text = chat_slow_down(over.retry_after_s, services.settings.emergency_number)
        await self.send(
            {"type": "error", "kind": "slow_down", "text": text, "retry_after": over.retry_after_s}
        )
        return True


def _parse_frame(raw: str) -> dict[str, Any] | None:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


async def _refuse_origin(socket: WebSocket) -> None:
    """403 with a reason when the server can answer the handshake with a response (uvicorn
    can), else a policy-violation close, which servers turn into a bare 403."""
    if "websocket.http.response" in socket.scope.get("extensions", {}):
        body = {"detail": ORIGIN_REFUSED}
        await socket.send_denial_response(JSONResponse(body, status.HTTP_403_FORBIDDEN))
    else:
        await socket.close(code=status.WS_1008_POLICY_VIOLATION, reason=ORIGIN_REFUSED)


@router.websocket("/ws/chat")
async def chat_socket(socket: WebSocket) -> None:
    services: Services = socket.app.state.services
    if not webchat.is_allowed_origin(
        socket.headers.get("origin"), allowed_origins(services.settings)
    ):
        await _refuse_origin(socket)
        return
    await socket.accept()
    chat = _ChatSocket(socket, services)
    try:
        while True:
            frame = _parse_frame(await socket.receive_text())
            if frame is None:
                await chat.error("invalid", "frames must be JSON objects under 16 KB")
            elif chat.session is None:
                await chat.start(webchat.presented_token(frame))
            else:
                await chat.handle(frame)
    except WebSocketDisconnect:
        return
    finally:
        chat.detach()
        await chat.touch(clock())  # a tab gone away starts the idle clock
