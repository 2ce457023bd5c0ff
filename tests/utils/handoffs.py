"""Factories for hand-off tests: conversations the hub would create, clinician accounts."""

from __future__ import annotations

import threading
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from backend.core.crypto import Cipher
from backend.db.models import Clinician, Conversation
from backend.handoff import service
from backend.handoff.auth import hash_password
from backend.hub.transcript import get_or_create_conversation

PASSWORD = "correct horse battery staple"


@lru_cache
def _hashed(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: hash each password once


def make_conversation(
    session: Session, cipher: Cipher, *, address: str = "+15550001111", channel: str = "rest"
) -> Conversation:
    return get_or_create_conversation(
        session=session, cipher=cipher, channel=channel, address=address
    )


def make_clinician(
    session: Session,
    *,
    email: str = "ann@clinic.example",
    name: str = "Ann Lee",
    password: str = PASSWORD,
    active: bool = True,
) -> Clinician:
    clinician = Clinician(email=email, name=name, password_hash=_hashed(password), active=active)
    session.add(clinician)
    session.commit()
    return clinician


def claim_race(
    factory: sessionmaker[Session], handoff_id: int, clinician_ids: list[int]
) -> list[tuple[str, object]]:
    """Every clinician claims at once, each on its own connection; returns the outcomes."""
    barrier = threading.Barrier(len(clinician_ids))
    outcomes: list[tuple[str, object]] = []

    def attempt(clinician_id: int) -> None:
        with factory() as session:
            barrier.wait()
            try:
                won = service.claim(
                    session=session, handoff_id=handoff_id, clinician_id=clinician_id
                )
                outcomes.append(("won", won.claimed_by))
            except service.AlreadyClaimed as exc:
                outcomes.append(("lost", exc.claimed_by))
            except Exception as exc:  # reported, so a failed race says why
                outcomes.append(("error", repr(exc)))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clinician_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
