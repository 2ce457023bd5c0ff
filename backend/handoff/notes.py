"""Clinicians' private notes on a hand-off (never sent to the patient) and canned replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Clinician, HandoffNote
from backend.handoff.service import get_handoff

CANNED_REPLIES_FILE = Path(__file__).with_name("canned_replies.yml")


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    text: str


def add_note(
    *, session: Session, cipher: Cipher, handoff_id: int, clinician_id: int, text: str
) -> Note:
    """Keep a private note (encrypted); HandoffNotFound for an unknown hand-off."""
    get_handoff(session=session, handoff_id=handoff_id)
    row = HandoffNote(
        handoff_id=handoff_id, clinician_id=clinician_id, text_ciphertext=cipher.encrypt(text)
    )
    session.add(row)
    session.commit()
    author = session.get(Clinician, clinician_id)
    return Note(row.id, author.name if author else "?", text, row.created_at)


def list_notes(*, session: Session, cipher: Cipher, handoff_id: int) -> list[Note]:
    """The hand-off's notes, oldest first."""
    get_handoff(session=session, handoff_id=handoff_id)
    rows = session.execute(
        select(HandoffNote, Clinician.name)
        .join(Clinician, Clinician.id == HandoffNote.clinician_id)
        .where(HandoffNote.handoff_id == handoff_id)
        .order_by(HandoffNote.id)
    ).all()
    return [Note(n.id, name, cipher.decrypt(n.text_ciphertext), n.created_at) for n, name in rows]


@lru_cache
def canned_replies(path: Path = CANNED_REPLIES_FILE) -> tuple[CannedReply, ...]:
    """The clinic's ready-made replies (a small YAML list of id, title, text)."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return tuple(CannedReply(str(r["id"]), str(r["title"]), str(r["text"]).strip()) for r in loaded)
