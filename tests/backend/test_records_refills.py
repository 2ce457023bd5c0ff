"""Refill requests: review reasons, the 24-hour duplicate rule and racing requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from backend.ehr import builders, mapping
from backend.ehr.domain import Medication, RefillTask
from backend.ehr.fake import InMemoryEhr
from backend.records import refills
from backend.records.medications import review_reason
from tests.utils.records import PATIENT, clinic_records

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday


def task(status: str, hours_ago: float, medication: str = "med-1") -> RefillTask:
    return RefillTask(
        id=f"t-{status}-{hours_ago}",
        status=status,
        medication_request_id=medication,
        patient_id=PATIENT,
        authored_on=NOW - timedelta(hours=hours_ago),
    )


def test_an_open_or_recent_request_counts_as_the_first() -> None:
    assert refills.earlier_request([task("requested", 30)], "med-1", NOW) is not None
    assert refills.earlier_request([task("completed", 23)], "med-1", NOW) is not None
    assert refills.earlier_request([task("completed", 25)], "med-1", NOW) is None
    assert refills.earlier_request([task("cancelled", 1)], "med-1", NOW) is None
    assert refills.earlier_request([task("requested", 1, "med-2")], "med-1", NOW) is None


def test_review_reasons() -> None:
    base = Medication(
        id="m",
        name="x",
        code=None,
        status="active",
        patient_id=PATIENT,
        refills_remaining=1,
        valid_until=date(2027, 1, 1),
    )
    today = date(2026, 11, 20)
    assert review_reason(base, today) is None
    assert (
        review_reason(Medication(**{**base.__dict__, "refills_remaining": 0}), today)
        == "there are no refills left on it"
    )
    assert (
        review_reason(Medication(**{**base.__dict__, "valid_until": date(2026, 1, 1)}), today)
        == "the prescription has expired"
    )
    assert (
        review_reason(Medication(**{**base.__dict__, "controlled_schedule": "CIV"}), today)
        == "it is a controlled medicine"
    )


def test_business_days_skip_the_weekend() -> None:
    assert refills.business_days_after(date(2026, 11, 20), 2) == date(2026, 11, 24)
    assert refills.business_days_after(date(2026, 11, 18), 2) == date(2026, 11, 20)


class InterleavingEhr(InMemoryEhr):
    """The fake, yielding to the event loop inside each call as a network EHR would, and
    without the port's own open-Task check, so only the records lock can prevent a duplicate."""

    async def refill_tasks(self, *, patient_id: str) -> list[RefillTask]:
        for _ in range(3):
            await asyncio.sleep(0)
        return await super().refill_tasks(patient_id=patient_id)

    async def request_refill(
        self,
        *,
        medication_request_id: str,
        patient_id: str,
        note: str | None = None,
        pharmacy: str | None = None,
        review_reason: str | None = None,
    ) -> RefillTask:
        """Always creates (a server with no duplicate check of its own), after a yield."""
        for _ in range(3):
            await asyncio.sleep(0)
        order = self._get("MedicationRequest", medication_request_id)
        created = builders.refill_task(
            medication_request=order,
            patient_id=patient_id,
            note=note,
            pharmacy=pharmacy,
            review_reason=review_reason,
        )
        return mapping.refill_task(self._model(self._put(created)))


async def test_two_racing_requests_create_one_task() -> None:
    ehr = InterleavingEhr(clinic_records())

    async def ask() -> refills.RefillOutcome:
        return await refills.request_refill(
            ehr=ehr,
            patient_id=PATIENT,
            medication_request_id="med-lisinopril",
            pharmacy=None,
            now=datetime.now(UTC),
        )

    first, second = await asyncio.gather(ask(), ask())
    assert len(ehr._all("Task")) == 1
    assert first.task.id == second.task.id
    assert sorted([first.created, second.created]) == [False, True]
