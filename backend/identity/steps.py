"""What the verification steps answer, and the identity settings they run under."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from backend.core.config import Settings

from . import attempts


class Outcome(StrEnum):
    CODE_SENT = "code_sent"
    CHOOSE = "choose"
    NOT_CONFIRMED = "not_confirmed"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"
    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    NO_PENDING = "no_pending"


class IdentityUnavailable(Exception):
    """The EHR could not be asked; nothing was counted against the patient (answer 503)."""


class NameRequired(ValueError):
    """Off the phone channels the family name is needed to find the patient (answer 422)."""


@dataclass(frozen=True)
class Policy:
    """The identity settings, as durations."""

    idle: timedelta
    code_ttl: timedelta
    limits: attempts.Limits
    region: str
    clinic_name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            idle=timedelta(minutes=settings.identity_idle_minutes),
            code_ttl=timedelta(minutes=settings.identity_code_ttl_minutes),
            limits=attempts.Limits(
                max_failures=settings.identity_max_failures,
                lockout=timedelta(minutes=settings.identity_lockout_minutes),
                codes_per_hour=settings.identity_codes_per_hour,
                starts_per_hour=settings.identity_starts_per_hour,
            ),
            region=settings.identity_phone_region,
            clinic_name=settings.clinic_name,
        )


@dataclass(frozen=True)
class Dependant:
    patient_id: str
    given: str  # told only to their verified parent or guardian


@dataclass(frozen=True)
class Step:
    outcome: Outcome
    options: tuple[str, ...] = ()  # initials to choose from (CHOOSE)
    dependants: tuple[Dependant, ...] = ()  # VERIFIED
    attempts_left: int | None = None  # WRONG_CODE
    retry_after_minutes: int | None = None  # LOCKED, RATE_LIMITED


@dataclass(frozen=True)
class Status:
    verified: bool
    identifies_by: str  # "phone" (birth date only) or "name" (name and birth date)
    awaiting: str | None  # "code" | "choice" | None
    locked: bool
    dependants: tuple[Dependant, ...] = field(default_factory=tuple)
