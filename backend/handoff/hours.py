"""The clinic's opening hours, so a patient asking for a person out of hours is told so.

The setting reads like a sign on the door: "mon-fri 08:00-18:00; sat 09:00-12:00", in the
clinic's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}:\d{2})-(?P<closes>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class OpeningHours:
    """Opening periods per weekday (0 = Monday) in one time zone."""

    periods: dict[int, tuple[tuple[time, time], ...]]
    zone: ZoneInfo

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        now = local.time()
        return any(opens <= now < closes for opens, closes in self.periods.get(local.weekday(), ()))


def parse_hours(text: str, timezone: str) -> OpeningHours:
    """Parse the setting; ValueError names the part that is wrong."""
    periods: dict[int, list[tuple[time, time]]] = {}
    for part in (p.strip().lower() for p in text.split(";")):
        if not part:
            continue
        match = _PERIOD.match(part)
        if match is None or match["first"] not in DAYS:
            raise ValueError(f"opening hours: cannot read {part!r} (like 'mon-fri 08:00-18:00')")
        last = match["last"] or match["first"]
        if last not in DAYS:
            raise ValueError(f"opening hours: unknown day in {part!r}")
        opens, closes = (
            time.fromisoformat(match["opens"].zfill(5)),
            time.fromisoformat(match["closes"].zfill(5)),
        )
        if closes <= opens:
            raise ValueError(f"opening hours: {part!r} closes before it opens")
        first_day, last_day = DAYS.index(match["first"]), DAYS.index(last)
        for day in range(first_day, last_day + 1):
            periods.setdefault(day, []).append((opens, closes))
    return OpeningHours({d: tuple(p) for d, p in periods.items()}, ZoneInfo(timezone))
