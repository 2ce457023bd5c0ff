"""When the clinics can see patients at all: time zone, the widest opening hours across the
sites, closed weekdays and public holidays. The date parser checks requests against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo

from backend.ehr.seed.common import us_holidays


def federal_holiday(day: date) -> str | None:
    """The name of the (observed) US federal holiday on `day`, when the clinics are closed."""
    return us_holidays(day.year).get(day)


@dataclass(frozen=True)
class ClinicCalendar:
    """Opening bounds used to judge a requested time (the sites' own hours are finer grained:
    the EHR only has slots inside them, so a request inside these bounds may still find none)."""

    tz: ZoneInfo
    opens: time = time(8)
    closes: time = time(19)
    closed_weekdays: frozenset[int] = field(default_factory=lambda: frozenset({6}))  # Sunday

    def closed_reason(self, day: date) -> str | None:
        """Why the clinics are closed on `day` ("Sundays", "Thanksgiving Day"), or None."""
        holiday = federal_holiday(day)
        if holiday:
            return holiday
        if day.weekday() in self.closed_weekdays:
            return f"{day:%A}s"
        return None

    def hours_text(self) -> str:
        """Opening hours as a patient reads them ("8 am to 7 pm")."""
        return f"{clock(self.opens)} to {clock(self.closes)}"


def clock(at: time) -> str:
    """`9 am`, `5:30 pm`, `noon`."""
    if at == time(12):
        return "noon"
    hour = at.hour % 12 or 12
    suffix = "am" if at.hour < 12 else "pm"
    return f"{hour}:{at.minute:02d} {suffix}" if at.minute else f"{hour} {suffix}"
