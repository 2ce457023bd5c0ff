"""Slots for the next weeks inside opening hours (lunch and public holidays closed)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from .. import codes
from .clinic import CLINICIANS, SCARCE_SPECIALTY, site_by_key
from .common import Resource, SeedContext, concept, fhir_dt, is_holiday, local_dt, ref

WEEKS = 8
DAY_START, LUNCH_START, LUNCH_END, DAY_END = time(9), time(12), time(13), time(17)
BUSY_SHARE = 0.25


def _windows(open_t: time, close_t: time) -> list[tuple[time, time]]:
    start, end = max(open_t, DAY_START), min(close_t, DAY_END)
    out = []
    if start < LUNCH_START:
        out.append((start, min(end, LUNCH_START)))
    if end > LUNCH_END:
        out.append((max(start, LUNCH_END), end))
    return [(a, b) for a, b in out if a < b]


def build_slots(ctx: SeedContext) -> list[Resource]:
    """Add Slots for every schedule for WEEKS weeks from now; returns the busy ones."""
    busy: list[Resource] = []
    first_day = ctx.today
    scarce_until = first_day + timedelta(weeks=4)
    for c in CLINICIANS:
        step = timedelta(minutes=c.slot_minutes)
        spec = concept(codes.SNOMED, c.specialty, codes.SPECIALTIES[c.specialty])
        for site_key, weekdays in c.sites.items():
            site = site_by_key(site_key)
            sched_id = f"sched-{c.key}-{site.key}"
            for offset in range(WEEKS * 7):
                day = first_day + timedelta(days=offset)
                if (
                    day.weekday() not in weekdays
                    or day.weekday() not in site.hours
                    or is_holiday(day)
                ):
                    continue
                for w_start, w_end in _windows(*site.hours[day.weekday()]):
                    t: datetime = local_dt(day, w_start)
                    end = local_dt(day, w_end)
                    while t + step <= end:
                        if t > ctx.now:
                            busy_share = BUSY_SHARE
                            if c.specialty == SCARCE_SPECIALTY:
                                busy_share = 1.0 if day < scarce_until else 0.7
                            status = "busy" if ctx.rng.random() < busy_share else "free"
                            slot = ctx.add(
                                {
                                    "resourceType": "Slot",
                                    "id": f"slot-{c.key}-{site.key}-{t:%Y%m%d%H%M}",
                                    "schedule": ref("Schedule", sched_id),
                                    "status": status,
                                    "specialty": [spec],
                                    "start": fhir_dt(t),
                                    "end": fhir_dt(t + step),
                                }
                            )
                            if status == "busy":
                                busy.append(slot)
                        t += step
    return busy
