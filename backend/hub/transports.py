"""How a message reaches a phone provider: Twilio's Messages API, or the development outbox.

A transport makes blocking calls; `PhoneOutbound` (backend/hub/outbound.py) runs them in a
thread. Which one is used is chosen once at start-up (backend/services.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import DevOutboxMessage
from channels.twilio.client import TwilioMessenger

DEV_ID_PREFIX = "dev-"  # the development outbox's stand-in for a provider's message id


class Transport(Protocol):
    """Hands one message to a provider; returns (provider message id, status)."""

    def send(self, *, channel: str, to: str, body: str) -> tuple[str | None, str]: ...

    def send_template(
        self, *, channel: str, to: str, content_sid: str, variables: dict[str, str]
    ) -> tuple[str | None, str]: ...

    def sent_since(self, *, channel: str, to: str, since: datetime) -> set[str]:
        """The provider ids of messages to `to` on `channel` it took at or after `since`."""
        ...


class TwilioTransport:
    """Bodies go out through Twilio's Messages API."""

    def __init__(self, messenger: TwilioMessenger) -> None:
        self._messenger = messenger

    def send(self, *, channel: str, to: str, body: str) -> tuple[str | None, str]:
        return self._messenger.send(channel=channel, to=to, body=body), "queued"

    def send_template(
        self, *, channel: str, to: str, content_sid: str, variables: dict[str, str]
    ) -> tuple[str | None, str]:
        sid = self._messenger.send_template(
            channel=channel, to=to, content_sid=content_sid, variables=variables
        )
        return sid, "queued"

    def sent_since(self, *, channel: str, to: str, since: datetime) -> set[str]:
        return self._messenger.sent_since(channel=channel, to=to, since=since)


class DevOutboxTransport:
    """No provider configured: bodies are kept (encrypted) for the development outbox."""

    def __init__(self, *, session_factory: sessionmaker[Session], cipher: Cipher) -> None:
        self._sessions = session_factory
        self._cipher = cipher

    def send(self, *, channel: str, to: str, body: str) -> tuple[str | None, str]:
        """Keep the message; its id in the outbox ("dev-<n>") stands for the provider's."""
        with self._sessions() as session:
            return keep_in_outbox(
                session, self._cipher, channel=channel, to=to, body=body
            ), "outbox"

    def sent_since(self, *, channel: str, to: str, since: datetime) -> set[str]:
        with self._sessions() as session:
            rows = session.scalars(
                select(DevOutboxMessage).where(
                    DevOutboxMessage.channel == channel, DevOutboxMessage.created_at >= since
                )
            ).all()
            return {
                f"{DEV_ID_PREFIX}{row.id}"
                for row in rows
                if self._cipher.decrypt(row.to_ciphertext) == to
            }

    def send_template(
        self, *, channel: str, to: str, content_sid: str, variables: dict[str, str]
    ) -> tuple[str | None, str]:
        body = f"[template {content_sid}] {json.dumps(variables, ensure_ascii=False)}"
        return self.send(channel=channel, to=to, body=body)


def keep_in_outbox(session: Session, cipher: Cipher, *, channel: str, to: str, body: str) -> str:
    """Add a message to the development outbox; its stand-in provider id ("dev-<n>")."""
    row = DevOutboxMessage(
        channel=channel, to_ciphertext=cipher.encrypt(to), text_ciphertext=cipher.encrypt(body)
    )
    session.add(row)
    session.commit()
    return f"{DEV_ID_PREFIX}{row.id}"


@dataclass(frozen=True)
class OutboxEntry:
    """A message in the development outbox, decrypted."""

    to: str
    channel: str
    text: str
    at: datetime


def dev_outbox(*, session: Session, cipher: Cipher, limit: int = 200) -> list[OutboxEntry]:
    """The latest messages of the development outbox, newest first."""
    rows = session.scalars(
        select(DevOutboxMessage).order_by(DevOutboxMessage.id.desc()).limit(limit)
    ).all()
    return [
        OutboxEntry(
            to=cipher.decrypt(row.to_ciphertext),
            channel=row.channel,
            text=cipher.decrypt(row.text_ciphertext),
            at=row.created_at,
        )
        for row in rows
    ]
