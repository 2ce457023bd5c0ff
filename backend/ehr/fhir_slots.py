"""Free-slot search over FHIR: Schedules matching the filters, then their free Slots in a window.

Server-side `_sort` is what makes a slot search slow on SQLite-backed servers, so the search asks
for unsorted pages over growing windows of time (most searches are answered by the first one or
two) and sorts on the client. A window whose answer is truncated is split in halves rather than
sorted by the server; only a window shorter than an hour that is still truncated is sorted there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fhirclient.models.schedule import Schedule
from fhirclient.models.slot import Slot

from . import codes, mapping
from .domain import FreeSlot
from .errors import EhrRejected
from .fhir_base import FhirBase
from .parse import bundle_resources, ref_id

WINDOW_PAGE = 300
FIRST_WINDOW = timedelta(days=2)
SMALLEST_SPLIT = timedelta(hours=1)


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of 2, 4, 8, 16, ... days."""
    out, lo, size = [], start, FIRST_WINDOW
    while lo < end:
        hi = min(lo + size, end)
        out.append((lo, hi))
        lo, size = hi, size * 2
    return out


def utc(value: datetime) -> str:
    """A search value in UTC (`2030-01-07T14:00:00Z`); naive datetimes are refused."""
    if value.tzinfo is None:
        raise EhrRejected("Slot", "search", 400, "start/end must be timezone-aware")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SlotSearchOps(FhirBase):
    """Free-slot search of the HTTP EHR."""

    async def _schedules(
        self, specialty: str | None, practitioner_id: str | None, location_id: str | None
    ) -> dict[str, Schedule]:
        params = [("active", "true"), ("_count", "500")]
        if specialty:
            params.append(("specialty", f"{codes.SNOMED}|{specialty}"))
        if practitioner_id:
            params.append(("actor", f"Practitioner/{practitioner_id}"))
        if location_id:
            params.append(("actor", f"Location/{location_id}"))
        bundle = await self._search_cached("Schedule", params, "search slots")
        return {s.id: s for s in bundle_resources(bundle, "Schedule")}

    async def search_free_slots(
        self,
        *,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        practitioner_id: str | None = None,
        location_id: str | None = None,
        limit: int = 20,
    ) -> list[FreeSlot]:
        """Free slots starting in [start, end), earliest first, at most `limit`."""
        for bound in (start, end):
            utc(bound)  # refuses naive datetimes before any request is made
        schedules = await self._schedules(specialty, practitioner_id, location_id)
        if not schedules or end <= start or limit <= 0:
            return []
        refs = ",".join(f"Schedule/{sid}" for sid in sorted(schedules))
        found: list[Slot] = []
        for w_start, w_end in windows(start, end):
            found += await self._slots_in(refs, w_start, w_end, limit - len(found))
            if len(found) >= limit:
                break
        out = []
        for slot in found:
            sid = ref_id(slot.schedule, "Schedule")
            s_start = slot.start.datetime if slot.start else None
            if slot.status != "free" or sid not in schedules or s_start is None:
                continue  # defensive: never offer what the query should not have returned
            if not start <= s_start < end:
                continue
            out.append(mapping.free_slot(slot, schedules[sid]))
        out.sort(key=lambda s: s.start)
        return out[:limit]

    async def _slots_in(self, refs: str, start: datetime, end: datetime, limit: int) -> list[Slot]:
        """Free slots of these schedules in [start, end): all of them, or at least the earliest
        `limit` when there are more than a page."""
        params = [
            ("schedule", refs),
            ("status", codes.SLOT_STATUS_FREE),
            ("start", f"ge{utc(start)}"),
            ("start", f"lt{utc(end)}"),
        ]
        bundle = await self._search("Slot", [*params, ("_count", str(WINDOW_PAGE))], "search slots")
        slots = bundle_resources(bundle, "Slot")
        truncated = len(slots) >= WINDOW_PAGE or (bundle.total or 0) > len(slots)
        if not truncated:
            return slots
        if end - start > SMALLEST_SPLIT:
            mid = start + (end - start) / 2
            first = await self._slots_in(refs, start, mid, limit)
            if len(first) >= limit:
                return first
            return first + await self._slots_in(refs, mid, end, limit - len(first))
        sorted_params = [*params, ("_sort", "start"), ("_count", str(max(1, min(limit, 200))))]
        bundle = await self._search("Slot", sorted_params, "search slots")
        return bundle_resources(bundle, "Slot")
