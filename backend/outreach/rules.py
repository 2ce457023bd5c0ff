"""The rules every outreach message obeys, as pure functions of an explicit `now`.

Quiet hours are local wall-clock times in the patient's zone, so the window moves with
daylight saving; frequency caps are rolling windows over what was already sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def parse_clock(value: str) -> time:
    """'09:00' -> time(9, 0) (settings validate the HH:MM shape)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class SendWindow:
    """The local hours in which outreach may reach a patient: [start, end); start == end
    means at any hour."""

    start: time
    end: time

    def next_allowed(self, due: datetime, zone: ZoneInfo) -> datetime:
        """The earliest moment at or after `due` inside the window, in UTC.

        The window's edges are wall-clock times of the patient's own day: on a spring-forward
        day 09:00 is 13:00 UTC in New York, on the day before it was 14:00 UTC.
        """
        if self.start == self.end:  # no quiet hours configured
            return due.astimezone(UTC)
        local = due.astimezone(zone)
        if self.start <= local.time() < self.end:
            return due.astimezone(UTC)
        day = local.date() if local.time() < self.start else local.date() + DAY
        # Built from wall time then normalised through UTC, so a start that falls in a
        # skipped hour lands on the first real moment after it.
        opening = datetime.combine(day, self.start, tzinfo=zone)
        return opening.astimezone(UTC).astimezone(zone).astimezone(UTC)


@dataclass(frozen=True)
class Caps:
    """At most `daily` non-urgent messages in any 24 hours and `weekly` in any 7 days."""

    daily: int
    weekly: int

    def next_allowed(self, now: datetime, sent: Iterable[datetime]) -> datetime:
        """`now` when another non-urgent message fits, otherwise when the first slot frees up."""
        earliest = now
        times = sorted(at.astimezone(UTC) for at in sent)
        for limit, window in ((self.daily, DAY), (self.weekly, WEEK)):
            recent = [at for at in times if at > now - window]
            if len(recent) >= limit:
                if limit == 0:
                    return datetime.max.replace(tzinfo=UTC)
                # The window has room again once the oldest message that fills it leaves it.
                earliest = max(earliest, recent[len(recent) - limit] + window)
        return earliest


def local_moment(day_offset: int, at: datetime, clock: time, zone: ZoneInfo) -> datetime:
    """`clock` local time `day_offset` days after the local date of `at`, in UTC."""
    day = at.astimezone(zone).date() + timedelta(days=day_offset)
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
