"""Refill requests: one Task per medication per day, and what the patient is told.

A second request for the same prescription within `DUPLICATE_WINDOW` (or while the first is
still open) returns the first Task. Two racing requests are serialised by a per-prescription
lock (`refill_locks.py`): in memory within one backend process, in Redis across hub workers
(`Services.refill_locks`). The EHR port itself also returns an open Task instead of creating a
second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.ehr.domain import Medication, RefillTask
from backend.ehr.port import Ehr

from .medications import review_reason
from .refill_locks import LocalRefillLocks, RefillLocks
from .results import format_day

DUPLICATE_WINDOW = timedelta(hours=24)
# Statuses that never count as "the first request" (it did not happen, or was withdrawn).
VOID_STATUSES = frozenset({"cancelled", "entered-in-error"})
OPEN_STATUSES = frozenset(
    {"draft", "requested", "received", "accepted", "in-progress", "ready", "on-hold"}
)
STATUS_WORDS = {
    "draft": "not sent yet",
    "requested": "sent to your prescriber and waiting for review",
    "received": "received by your prescriber and waiting for review",
    "accepted": "accepted by your prescriber, who is working on it",
    "in-progress": "being worked on by your prescriber",
    "ready": "approved and being prepared",
    "on-hold": "on hold: the clinic may need to talk to you first",
    "completed": "done: it has been approved and sent to the pharmacy",
    "rejected": "not approved as a refill: please contact the clinic to talk about it",
    "failed": "not completed: please call the clinic",
    "cancelled": "cancelled",
}
TASK_NOTE = "Requested by the patient through the clinic's messaging assistant."


class UnknownMedication(LookupError):
    """The prescription is not one of this patient's (or does not exist)."""

    def __init__(self, medication_request_id: str) -> None:
        super().__init__("no such prescription for this patient")
        self.medication_request_id = medication_request_id


@dataclass(frozen=True)
class RefillOutcome:
    """The Task the request resulted in; `created` False when an earlier one was found."""

    task: RefillTask
    medication: Medication
    created: bool
    review_reason: str | None


# For callers that pass no `locks`: this process's requests only.
_IN_PROCESS = LocalRefillLocks()


def earlier_request(
    tasks: list[RefillTask], medication_request_id: str, now: datetime
) -> RefillTask | None:
    """The patient's open or recent (within the window) Task for this prescription."""
    for task in sorted(tasks, key=authored, reverse=True):
        if task.medication_request_id != medication_request_id or task.status in VOID_STATUSES:
            continue
        recent = task.authored_on is not None and now - task.authored_on < DUPLICATE_WINDOW
        if recent or task.status in OPEN_STATUSES:
            return task
    return None


def authored(task: RefillTask) -> datetime:
    return task.authored_on or datetime.min.replace(tzinfo=UTC)


async def request_refill(
    *,
    ehr: Ehr,
    patient_id: str,
    medication_request_id: str,
    pharmacy: str | None,
    now: datetime,
    locks: RefillLocks | None = None,
) -> RefillOutcome:
    """Find the earlier request or create the refill Task (marked for review when needed).

    `locks`: `Services.refill_locks`, shared by every hub worker when Redis is configured;
    without, the requests of this process are serialised among themselves only.
    """
    medications = await ehr.medication_requests(patient_id=patient_id)
    medication = next((m for m in medications if m.id == medication_request_id), None)
    if medication is None:
        raise UnknownMedication(medication_request_id)
    reason = review_reason(medication, now.date())
    one_at_a_time = _IN_PROCESS if locks is None else locks
    async with one_at_a_time.hold(f"{patient_id}/{medication_request_id}"):
        earlier = earlier_request(
            await ehr.refill_tasks(patient_id=patient_id), medication_request_id, now
        )
        if earlier is not None:
            return RefillOutcome(earlier, medication, created=False, review_reason=reason)
        task = await ehr.request_refill(
            medication_request_id=medication_request_id,
            patient_id=patient_id,
            note=TASK_NOTE,
            pharmacy=pharmacy,
            review_reason=reason,
        )
    return RefillOutcome(task, medication, created=True, review_reason=reason)


def business_days_after(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def outcome_text(outcome: RefillOutcome, *, turnaround_days: int, today: date) -> str:
    """What happened, what happens next and when, in the patient's words."""
    name = outcome.medication.name
    prescriber = outcome.medication.prescriber_name or "your prescriber"
    task = outcome.task
    if not outcome.created:
        asked = f" on {format_day(task.authored_on.date())}" if task.authored_on else ""
        return (
            f"You already asked for a refill of {name}{asked}, so I haven't sent a second "
            f"request. Its status: {status_words(task.status)}."
        )
    by = format_day(business_days_after(today, turnaround_days))
    where = f" for {task.pharmacy}" if task.pharmacy else ""
    if outcome.review_reason:
        return (
            f"I've sent your request for {name}{where} to {prescriber}. Because "
            f"{outcome.review_reason}, this needs the prescriber's decision: it may not be "
            "approved as a simple refill, and they may want to talk to you or see you first. "
            f'The clinic will let you know by {by}. You can ask me "is my refill ready?" '
            "at any time."
        )
    return (
        f"Done: I've sent a refill request for {name}{where} to {prescriber}. What happens "
        "next: the prescriber reviews it and sends it to the pharmacy, usually within "
        f'{turnaround_days} business days (by {by}). You can ask me "is my refill ready?" '
        "at any time."
    )


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, "with the clinic")


def latest_per_medication(tasks: list[RefillTask]) -> list[RefillTask]:
    """The newest request for each prescription, newest first."""
    latest: dict[str, RefillTask] = {}
    for task in sorted(tasks, key=authored, reverse=True):
        latest.setdefault(task.medication_request_id, task)
    return list(latest.values())


def status_text(latest: list[RefillTask], names: dict[str, str]) -> str:
    """Where each prescription's latest request stands."""
    if not latest:
        return 'I can\'t find any refill requests from you. To ask for one, just say "refill".'
    lines = []
    for task in latest:
        name = names.get(task.medication_request_id, "your medication")
        asked = f" (asked {format_day(task.authored_on.date())})" if task.authored_on else ""
        lines.append(f"- {name}{asked}: {status_words(task.status)}.")
    return "\n".join(["Your refill requests:", *lines])
