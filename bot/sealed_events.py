"""Rasa tracker events sealed for storage: the event's JSON encrypted under ENCRYPTION_KEY.

A stored event is a small JSON envelope, `{"event": "user", "timestamp": 1.7e9, "sealed":
"<key id>:<Fernet token>"}`: the type and the time are Rasa's own bookkeeping (its SQL store
keeps both in columns anyway), everything else (what the patient typed, entities, slot values,
bot replies) is inside `sealed`. An event stored before encryption (plain Rasa JSON, no
`sealed`) is still read as it is, and `make rotate-keys` seals it.

No Rasa import here: the tracker store (bot/tracker_store.py, Rasa's environment) and the
rotation script (scripts/rotate_keys.py, the backend's environment) both use this module, and
the keys are the message log's (backend/core/crypto.py), so one ENCRYPTION_KEY serves both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from backend.core.crypto import Cipher, split_secrets
from bot.shared_secret import MIN_LENGTH, WeakSecret

SEALED = "sealed"
# The backend's own default (backend/core/config.py), so that on a laptop without
# ENCRYPTION_KEY in .env the hub and Rasa still agree; refused outside development.
DEVELOPMENT_KEY = "dev-encryption-key"
_PLACEHOLDERS = frozenset({DEVELOPMENT_KEY, "change-me", "changeme"})


def cipher_from_env(environ: Mapping[str, str] = os.environ) -> Cipher:
    """The tracker's cipher from ENCRYPTION_KEY and ENCRYPTION_KEYS_OLD; raises WeakSecret
    when the key cannot be trusted, so Rasa refuses to start rather than store clear text."""
    development = environ.get("ENV", "development") == "development"
    secret = environ.get("ENCRYPTION_KEY", "") or (DEVELOPMENT_KEY if development else "")
    if not secret:
        raise WeakSecret("ENCRYPTION_KEY", "is not set")
    if not development and (secret in _PLACEHOLDERS or len(secret) < MIN_LENGTH):
        raise WeakSecret("ENCRYPTION_KEY", "is a placeholder or too short")
    return Cipher(secret, old_secrets=split_secrets(environ.get("ENCRYPTION_KEYS_OLD", "")))


def seal(cipher: Cipher, event: Mapping[str, Any]) -> str:
    """The stored form of one event (Rasa's `Event.as_dict()`)."""
    envelope = {
        "event": event.get("event"),
        "timestamp": event.get("timestamp"),
        SEALED: cipher.encrypt(json.dumps(event)),
    }
    return json.dumps(envelope)


def unseal(cipher: Cipher, stored: str) -> dict[str, Any]:
    """The event as Rasa wrote it; raises DecryptionError when no configured key opens it."""
    envelope = json.loads(stored)
    if SEALED not in envelope:
        return dict(envelope)  # stored before encryption: `make rotate-keys` seals it
    event: dict[str, Any] = json.loads(cipher.decrypt(envelope[SEALED]))
    return event


def reseal(cipher: Cipher, stored: str) -> str | None:
    """`stored` under the current key (sealed if it was in clear); None if it already is."""
    envelope = json.loads(stored)
    if SEALED not in envelope:
        return seal(cipher, envelope)
    if cipher.is_current(envelope[SEALED]):
        return None
    envelope[SEALED] = cipher.rotate(envelope[SEALED])
    return json.dumps(envelope)
