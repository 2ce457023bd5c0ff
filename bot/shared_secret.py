"""The secrets that let one of our processes call another inside Rasa's environment.

Rasa and the action server listen on ports every user of the host can reach, so the port alone
proves nothing about the caller: the hub proves itself to Rasa with RASA_TOKEN, Rasa proves
itself to the action server with ACTIONS_TOKEN, each as `Authorization: Bearer <secret>`
(docs/security.md). Both are read from the environment the supervisor passes, never from a
command line (which every local user can read in `ps`).
"""

from __future__ import annotations

import hmac
import os

# Values that ship in .env.example or as the supervisor's defaults: fine on a laptop
# (ENV=development), refused anywhere else. The same rule as the backend's settings.
PLACEHOLDERS = frozenset(
    {"change-me", "changeme", "dev-service-token", "dev-rasa-token", "dev-actions-token"}
)
MIN_LENGTH = 16


class WeakSecret(RuntimeError):
    """A secret is missing or a placeholder; the process must not start with it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"{name} {reason}: set it in .env to a random secret of at least {MIN_LENGTH} "
            "characters (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
        self.name = name


def secret_from_env(name: str) -> str:
    """The secret in environment variable `name`; raises WeakSecret if it cannot be trusted.

    Empty is refused even in development: an empty secret would let a request with an empty
    header through.
    """
    value = os.environ.get(name, "")
    if not value:
        raise WeakSecret(name, "is not set")
    if os.environ.get("ENV", "development") != "development" and (
        value in PLACEHOLDERS or len(value) < MIN_LENGTH
    ):
        raise WeakSecret(name, "is a placeholder or too short")
    return value


def bearer_header(secret: str) -> str:
    """The Authorization header value that carries `secret`."""
    return f"Bearer {secret}"


def carries_secret(authorization: str | None, secret: str) -> bool:
    """Whether an Authorization header carries `secret`, compared in constant time (the time
    a comparison takes must not tell a caller how much of a guess was right)."""
    if not secret:  # never let "" match a missing header
        return False
    given = (authorization or "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, bearer_header(secret).encode("utf-8"))
