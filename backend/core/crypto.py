"""Encryption at rest for patient text, and keyed hashes for channel addresses.

Message text is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from ENCRYPTION_KEY. Channel addresses (phone numbers, chat ids, web tokens) are never
stored in clear: a keyed HMAC finds the conversation, and the address itself is kept
encrypted only because replies and outreach must be sent to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted: wrong ENCRYPTION_KEY or corrupted data."""


class Cipher:
    """Encrypts and decrypts text, and hashes addresses, under one configured secret."""

    def __init__(self, secret: str) -> None:
        master = hashlib.sha256(secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"message-text")))
        self._address_key = _derive(master, b"address-hash")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise DecryptionError("stored text cannot be decrypted with ENCRYPTION_KEY") from exc

    def address_hash(self, channel: str, address: str) -> str:
        """Stable, non-reversible lookup key for a channel address."""
        return hmac.new(self._address_key, f"{channel}\0{address}".encode(), "sha256").hexdigest()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, purpose, "sha256").digest()
