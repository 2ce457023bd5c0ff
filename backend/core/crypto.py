"""Encryption at rest for patient text, and keyed hashes for channel addresses.

Text is encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Several keys can be live at once so
that ENCRYPTION_KEY can be rotated: new ciphertext is always written under the current key and
starts with that key's id (`<key id>:<Fernet token>`); ciphertext under a key named in
ENCRYPTION_KEYS_OLD stays readable until `make rotate-keys` has re-encrypted it. Ciphertext
written before key ids existed (a bare Fernet token) is tried under every key.

Channel addresses (phone numbers, chat ids, web tokens) are never stored in clear: a keyed HMAC
finds the conversation. Its secret, ADDRESS_HASH_KEY, is separate from the encryption keys, so
rotating ENCRYPTION_KEY never changes a lookup key (docs/security.md, "Rotating the keys").

Only the standard library and `cryptography`: Rasa's tracker store (bot/tracker_store.py, in
Rasa's Python 3.10 environment) imports this module to encrypt its events under the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ID_HEX_CHARS = 8


class DecryptionError(Exception):
    """Stored ciphertext could not be decrypted: a key is missing or the data is corrupted."""


class UnknownKeyError(DecryptionError):
    """Ciphertext names a key id that none of the configured keys has."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"stored text was encrypted under key id {key_id!r}, which is neither ENCRYPTION_KEY "
            "nor in ENCRYPTION_KEYS_OLD: put the old key back in ENCRYPTION_KEYS_OLD (and run "
            "`make rotate-keys` before removing it)"
        )
        self.key_id = key_id


class KeySettings(Protocol):
    """The settings a Cipher is built from (backend/core/config.py's Settings has them)."""

    @property
    def encryption_key(self) -> str: ...

    @property
    def encryption_keys_old(self) -> str: ...

    @property
    def address_hash_key(self) -> str: ...


@dataclass(frozen=True)
class DataKey:
    """One encryption key and the short id that tags what it encrypted."""

    key_id: str
    fernet: Fernet


def data_key(secret: str) -> DataKey:
    """The Fernet key for message text derived from one ENCRYPTION_KEY-style secret.

    The id is a keyed fingerprint of the secret: stable across restarts and processes, and it
    tells nothing about the secret, so operators never have to name keys themselves.
    """
    master = _master(secret)
    fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"message-text")))
    return DataKey(key_id=_derive(master, b"key-id").hex()[:KEY_ID_HEX_CHARS], fernet=fernet)


def split_secrets(value: str) -> list[str]:
    """ENCRYPTION_KEYS_OLD: comma-separated secrets, newest first; blanks ignored."""
    return [part.strip() for part in value.split(",") if part.strip()]


class Cipher:
    """Encrypts and decrypts text under the configured keys, and hashes addresses."""

    def __init__(
        self,
        secret: str,
        *,
        old_secrets: Sequence[str] = (),
        address_secret: str | None = None,
    ) -> None:
        keys: dict[str, DataKey] = {}
        for key in map(data_key, (secret, *old_secrets)):
            keys.setdefault(key.key_id, key)  # the same secret listed twice is one key
        self._current = next(iter(keys.values()))  # ENCRYPTION_KEY's, listed first
        self._by_id = {key_id: key.fernet for key_id, key in keys.items()}
        # Current key first: MultiFernet encrypts and rotates under its first key.
        self._all = MultiFernet([key.fernet for key in keys.values()])
        # Without a secret of its own (development and tests), the address key is derived from
        # ENCRYPTION_KEY exactly as before key rotation existed, so existing hashes still match.
        self._address_key = _derive(_master(address_secret or secret), b"address-hash")

    @classmethod
    def from_settings(cls, settings: KeySettings) -> Cipher:
        """The cipher of a running process: current key, older keys, address-hash secret."""
        return cls(
            settings.encryption_key,
            old_secrets=split_secrets(settings.encryption_keys_old),
            address_secret=settings.address_hash_key or None,
        )

    @property
    def current_key_id(self) -> str:
        """The id that every new ciphertext starts with."""
        return self._current.key_id

    def encrypt(self, plaintext: str) -> str:
        token = self._current.fernet.encrypt(plaintext.encode()).decode("ascii")
        return f"{self._current.key_id}:{token}"

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet_for(token).decrypt(_body(token)).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError(
                "stored text cannot be decrypted with ENCRYPTION_KEY or ENCRYPTION_KEYS_OLD"
            ) from exc

    def is_current(self, token: str) -> bool:
        """True when `token` is already under the current key (nothing to rotate)."""
        return token.startswith(f"{self._current.key_id}:")

    def rotate(self, token: str) -> str:
        """The same text re-encrypted under the current key (Fernet's timestamp is kept)."""
        if self.is_current(token):
            return token
        self._fernet_for(token)  # an unknown key id fails here, with the key id in the error
        try:
            rotated = self._all.rotate(_body(token)).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError(
                "stored text cannot be rotated: no configured key opens it"
            ) from exc
        return f"{self._current.key_id}:{rotated}"

    def address_hash(self, channel: str, address: str) -> str:
        """Stable, non-reversible lookup key for a channel address."""
        return hmac.new(self._address_key, f"{channel}\0{address}".encode(), "sha256").hexdigest()

    def _fernet_for(self, token: str) -> Fernet | MultiFernet:
        key_id, tagged, _ = token.partition(":")
        if not tagged:
            return self._all  # written before key ids: whichever key opens it
        fernet = self._by_id.get(key_id)
        if fernet is None:
            raise UnknownKeyError(key_id)
        return fernet


def _body(token: str) -> bytes:
    return token.rpartition(":")[2].encode("ascii")


def _master(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, purpose, "sha256").digest()
