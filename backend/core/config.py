"""The backend's one settings class: every setting comes from the environment or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]

# Values that ship in .env.example or as defaults: fine on a laptop, refused anywhere else.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "dev-service-token", "dev-rasa-token", "dev-encryption-key"}
)
SECRET_FIELDS = ("encryption_key", "service_token", "rasa_token")


class Settings(BaseSettings):
    """Backend (hub) settings. See .env.example for what each one means."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: SQLite file under var_dir

    encryption_key: str = "dev-encryption-key"
    service_token: str = "dev-service-token"

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "dev-rasa-token"
    rasa_timeout_s: float = 30.0
    actions_url: str = "http://127.0.0.1:5055"
    ehr_base_url: str = "http://127.0.0.1:8090/fhir"
    health_timeout_s: float = 2.0

    clinic_name: str = "Riverside Family Health"
    clinic_phone: str = "+1 555-0100"
    clinic_hours: str = "Mon-Fri 8:00-18:00"
    emergency_number: str = "911"
    crisis_line: str = "988"
    poison_line: str = "1-800-222-1222"

    max_message_chars: int = Field(default=2000, ge=1)
    # A session longer than this many patient messages is closed at the next idle point,
    # so Rasa's per-turn replay stays short (docs/architecture.md, "Sessions").
    session_max_turns: int = Field(default=20, ge=2)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "development":
            return self
        weak = [
            name.upper()
            for name in SECRET_FIELDS
            if getattr(self, name) in PLACEHOLDER_SECRETS or len(getattr(self, name)) < 16
        ]
        if weak:
            raise ValueError(
                f"{', '.join(weak)} must be set to a random secret of at least 16 characters "
                f"when ENV={self.env} (generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'backend.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
