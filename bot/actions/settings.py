"""Settings of the action server, read once from the environment that `make run` sets."""

from __future__ import annotations

import os
from dataclasses import dataclass

_PLACEHOLDER_TOKENS = {"", "change-me", "changeme", "dev-service-token"}


@dataclass(frozen=True)
class ActionSettings:
    """Where the backend's internal API is and how to authenticate to it."""

    backend_url: str
    service_token: str
    timeout_s: float = 5.0

    @classmethod
    def from_env(cls) -> ActionSettings:
        env = os.environ.get("ENV", "development")
        token = os.environ.get("SERVICE_TOKEN", "dev-service-token")
        if env != "development" and token in _PLACEHOLDER_TOKENS:
            raise RuntimeError(
                "SERVICE_TOKEN is a placeholder; set a random secret in .env outside development"
            )
        return cls(
            backend_url=os.environ.get("BACKEND_URL", "http://127.0.0.1:8000").rstrip("/"),
            service_token=token,
            timeout_s=float(os.environ.get("BACKEND_TIMEOUT_S", "5")),
        )
