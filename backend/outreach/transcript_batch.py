"""The transcript lines of many outreach messages in one statement.

Each row is what `backend.hub.transcript.log_outbound` writes for one reply (encrypted text
and buttons, author `outreach`), but for a whole batch at once and without committing: the
dispatcher commits them with the outbox statuses of the same messages.
"""

from __future__ import annotations

import json

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Conversation, Message, utcnow
from channels.base import Reply


def add_outreach_lines(
    *, session: Session, cipher: Cipher, sent: list[tuple[Conversation, list[Reply]]]
) -> None:
    """Add a transcript line per reply of each (conversation, replies) sent, in order."""
    now = utcnow()
    rows = [
        {
            "conversation_id": conversation.id,
            "channel": conversation.channel,
            "direction": "out",
            "author": "outreach",
            "text_ciphertext": cipher.encrypt(reply.text),
            "buttons_ciphertext": (
                cipher.encrypt(json.dumps(reply.buttons)) if reply.buttons else None
            ),
            "created_at": now,
        }
        for conversation, replies in sent
        for reply in replies
    ]
    if rows:
        session.execute(insert(Message), rows)
