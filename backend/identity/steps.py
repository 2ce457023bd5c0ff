"""What the verification steps answer, and the identity settings they run under."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from backend.core.config import Settings

from . import attempts


class Outcome(StrEnum):
    # The one answer to "who I say I am", whatever matched: a code went to the phone on file
    # if the details fit someone with a phone, and nothing was sent otherwise. The next
    # answers (wrong code, locked, ...) are the same either way (docs/identity.md).
    AWAITING_CODE = "awaiting_code"
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
                source_max_failures=settings.identity_source_max_failures,
                source_starts_per_hour=settings.identity_source_starts_per_hour,
                target_alert_after=settings.identity_target_alert_after,
                target_pause=timedelta(minutes=settings.identity_target_pause_minutes),
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


@dataclass(frozen=True)
class TargetAlert:
    """Repeated attempts against one patient's phone on file, from other sources."""

    conversation_id: str  # the attempt that crossed the threshold
    patient_id: str
    attempts_last_hour: int
    codes_paused_minutes: int


# Tells the care team (the route opens a hand-off); kept as a callable so that identity does
# not import the hand-off package, which imports identity.
AlertSink = Callable[[TargetAlert], Awaitable[None]]
