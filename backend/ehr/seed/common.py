"""Shared helpers of the synthetic clinic generator: clock, ids, references, holidays."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .. import codes

TZ_NAME = "America/New_York"
TZ = ZoneInfo(TZ_NAME)
Resource = dict[str, Any]


@dataclass
class SeedContext:
    """Everything generation depends on: the random seed and "now" (dates are relative to it)."""

    seed: int
    now: datetime
    rng: random.Random = field(init=False)
    resources: list[Resource] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def begin(self, part: str) -> None:
        """Give `part` (slots, patients, labs, ...) its own random stream.

        How many draws a part makes depends on "now" (weekdays in the slot window, ages), so
        with one shared stream a later day would give every patient after it different data;
        with a stream per part, a patient's record stays the same from one day to the next.
        """
        self.rng = random.Random(f"{self.seed}:{part}")

    @property
    def today(self) -> date:
        """Today in the clinic's time zone."""
        return self.now.astimezone(TZ).date()

    def add(self, resource: Resource) -> Resource:
        """Queue a resource for upload (tagged so seeded data can be told apart)."""
        meta = resource.setdefault("meta", {})
        meta["tag"] = [{"system": codes.SEED_TAG_SYSTEM, "code": f"seed-{self.seed}"}]
        self.resources.append(resource)
        return resource


def ref(rtype: str, rid: str, display: str | None = None) -> dict[str, str]:
    """A literal Reference."""
    out = {"reference": f"{rtype}/{rid}"}
    if display:
        out["display"] = display
    return out


def local_dt(d: date, t: time) -> datetime:
    """A wall-clock time at the clinics, as an aware datetime."""
    return datetime.combine(d, t, tzinfo=TZ)


def fhir_dt(value: datetime) -> str:
    """FHIR dateTime/instant with offset, second precision."""
    return value.isoformat(timespec="seconds")


def concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    out: dict[str, Any] = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        out["text"] = text
    return out


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    d = nxt - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def us_holidays(year: int) -> dict[date, str]:
    """US federal holidays (observed dates) of a year: the clinics are closed on them."""
    mon, thu = 0, 3
    fixed = {
        date(year, 1, 1): "New Year's Day",
        date(year, 6, 19): "Juneteenth",
        date(year, 7, 4): "Independence Day",
        date(year, 11, 11): "Veterans Day",
        date(year, 12, 25): "Christmas Day",
    }
    out = {_observed(d): name for d, name in fixed.items()}
    out.update(
        {
            _nth_weekday(year, 1, mon, 3): "Martin Luther King Jr. Day",
            _nth_weekday(year, 2, mon, 3): "Presidents' Day",
            _last_weekday(year, 5, mon): "Memorial Day",
            _nth_weekday(year, 9, mon, 1): "Labor Day",
            _nth_weekday(year, 10, mon, 2): "Columbus Day",
            _nth_weekday(year, 11, thu, 4): "Thanksgiving Day",
        }
    )
    return out


def is_holiday(d: date) -> bool:
    """True on a (observed) US federal holiday."""
    return d in us_holidays(d.year) or d in us_holidays(d.year + 1)
