"""The kinds of outreach message, the Rasa intent that words each, and which are capped."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from backend.core.config import Settings

from .rules import Caps, SendWindow, parse_clock

REMINDER = "appointment_reminder"
CHECKIN = "visit_checkin"
REFILL = "refill_nudge"
RESULTS = "results_ready"
ALL_KINDS = (REMINDER, CHECKIN, REFILL, RESULTS)
# Reminders are tied to a time that will not wait; the rest count toward the frequency caps.
UNCAPPED = frozenset({REMINDER})
# Job id prefixes (docs/outreach.md): reminder:{appointment}:{lead}, checkin:{appointment},
# refill:{medication request}, results:{report}.
JOB_PREFIX = {REMINDER: "reminder", CHECKIN: "checkin", REFILL: "refill", RESULTS: "results"}


def intent_for(kind: str) -> str:
    """The external intent Rasa is asked to answer for a message of this kind."""
    return f"EXTERNAL_{kind}"


@dataclass(frozen=True)
class OutreachConfig:
    """The outreach settings in the shape the planner and dispatcher use."""

    window: SendWindow
    caps: Caps
    zone: ZoneInfo
    reminder_leads_h: tuple[float, ...] = (48.0, 2.0)
    checkin_at: str = "10:00"
    refill_days_before: int = 3
    sync_minutes: float = 15.0
    default_consents: tuple[str, ...] = field(default=ALL_KINDS)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutreachConfig:
        return cls(
            window=SendWindow(
                parse_clock(settings.outreach_send_from), parse_clock(settings.outreach_send_until)
            ),
            caps=Caps(daily=settings.outreach_daily_cap, weekly=settings.outreach_weekly_cap),
            zone=ZoneInfo(settings.patients_timezone),
            reminder_leads_h=tuple(settings.outreach_reminder_leads_h),
            checkin_at=settings.outreach_checkin_at,
            refill_days_before=settings.outreach_refill_days_before,
            sync_minutes=settings.outreach_sync_minutes,
            default_consents=tuple(settings.outreach_default_consents),
        )
