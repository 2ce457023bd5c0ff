"""The scheduler with APScheduler's real SQLAlchemy job store, on SQLite and on the real
PostgreSQL: deterministic jobs, reconciliation with the EHR, and exactly-once sending across
restarts and interrupted dispatches (counted at the provider double)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select

from backend.db.models import OutboundDelivery, OutreachOutbox
from backend.db.session import make_engine
from backend.hub.outbound import PhoneOutbound
from backend.outreach import dispatch as dispatch_module
from backend.outreach.contacts import patient_hash
from backend.outreach.dispatch import Dispatcher
from backend.outreach.kinds import CHECKIN
from backend.outreach.scheduler import OutreachRuntime, make_scheduler, pending_jobs
from tests.utils.outreach_clinic import PATIENT, Clinic, appointment, open_clinic

ANY_HOUR = {"outreach_send_from": "00:00", "outreach_send_until": "00:00"}


class Crash(BaseException):
    """The process dying at this point (not an error anything may catch)."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outreach.db'}"
        return
    yield request.getfixturevalue("postgres_url")  # made for this test, dropped after it


def runtime_for(clinic: Clinic, clock: datetime | None = None) -> OutreachRuntime:
    """A fresh scheduler process over the clinic's database (a new engine: a new process)."""
    engine = make_engine(clinic.settings.effective_database_url)
    dispatcher = Dispatcher(
        session_factory=clinic.session_factory,
        db=clinic.dispatcher.db,
        cipher=clinic.cipher,
        ehr=clinic.ehr,
        rasa=clinic.rasa,
        config=clinic.dispatcher.config,
        phone=clinic.dispatcher.phone,
    )
    if clock is None:
        return OutreachRuntime(dispatcher, make_scheduler(engine))
    return OutreachRuntime(dispatcher, make_scheduler(engine), clock=lambda: clock)


def clinic_with_a_due_reminder(tmp_path: Path, database_url: str) -> Clinic:
    """A clinic with one visit in 47 hours (its 48 h reminder was due an hour ago), no quiet
    hours."""
    visit = datetime.now(UTC) + timedelta(hours=47)
    return open_clinic(
        tmp_path, [appointment("appt-1", visit)], database_url=database_url, **ANY_HOUR
    )


async def dispatch_dying(clinic: Clinic) -> None:
    """Dispatch the 48 h reminder in a process that dies on the way (the test says where)."""
    with pytest.raises(Crash):
        await clinic.dispatcher.dispatch(
            job_id="reminder:appt-1:48h",
            patient_hash=patient_hash(clinic.cipher, PATIENT),
            now=datetime.now(UTC),
        )


async def restart(clinic: Clinic) -> tuple[list[str], list[str]]:
    """A new scheduler process starting up: the statuses of the interrupted messages it
    settled, and the message jobs it keeps."""
    restarted = runtime_for(clinic)
    try:
        recovered = await restarted.start(paused=True)
        return recovered, [job for job, _ in pending_jobs(restarted.scheduler)]
    finally:
        restarted.shutdown()


async def run_until_executed(runtime: OutreachRuntime, job_ids: set[str]) -> None:
    """Start the runtime and wait until APScheduler has run each of these jobs once."""
    done: set[str] = set()
    finished = asyncio.Event()

    def listener(event: JobExecutionEvent) -> None:
        done.add(event.job_id)
        if job_ids <= done:
            finished.set()

    runtime.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    await runtime.start()
    await asyncio.wait_for(finished.wait(), timeout=30)


def outbox_rows(clinic: Clinic) -> list[tuple[str, str]]:
    with clinic.session_factory() as session:
        rows = session.scalars(select(OutreachOutbox).order_by(OutreachOutbox.id)).all()
        return [(row.job_id, row.status) for row in rows]


async def test_sync_schedules_deterministic_jobs_and_a_second_sync_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime(2026, 6, 8, 12, tzinfo=UTC)
    visit = datetime(2026, 6, 10, 14, tzinfo=UTC)
    clinic = open_clinic(tmp_path, [appointment("appt-1", visit)], database_url=database_url)
    runtime = runtime_for(clinic, clock=now)
    try:
        await runtime.start(paused=True)
        jobs = pending_jobs(runtime.scheduler)
        again = await runtime.sync()
    finally:
        runtime.shutdown()

    assert jobs == [
        ("reminder:appt-1:48h", visit - timedelta(hours=48)),
        ("reminder:appt-1:2h", visit - timedelta(hours=2)),
        ("checkin:appt-1", datetime(2026, 6, 11, 14, tzinfo=UTC)),  # 10:00 EDT the day after
    ]
    assert (again.added, again.replaced, again.removed) == ([], [], [])


async def test_sync_follows_moved_and_cancelled_appointments(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime(2026, 6, 8, 12, tzinfo=UTC)
    clinic = open_clinic(
        tmp_path,
        [
            appointment("appt-1", datetime(2026, 6, 10, 14, tzinfo=UTC)),
            appointment("appt-2", datetime(2026, 6, 11, 14, tzinfo=UTC)),
        ],
        database_url=database_url,
    )
    runtime = runtime_for(clinic, clock=now)
    try:
        await runtime.start(paused=True)
        moved = clinic.ehr._get("Appointment", "appt-1")
        moved["start"] = "2026-06-12T18:00:00+00:00"
        clinic.ehr._put(moved)
        await clinic.ehr.cancel(appointment_id="appt-2")
        report = await runtime.sync()
        jobs = dict(pending_jobs(runtime.scheduler))
    finally:
        runtime.shutdown()

    assert sorted(report.replaced) == [
        "checkin:appt-1",
        "reminder:appt-1:2h",
        "reminder:appt-1:48h",
    ]
    assert sorted(report.removed) == ["checkin:appt-2", "reminder:appt-2:2h", "reminder:appt-2:48h"]
    assert jobs["reminder:appt-1:2h"] == datetime(2026, 6, 12, 16, tzinfo=UTC)


async def test_a_reminder_due_while_the_scheduler_was_down_goes_once_when_it_is_back(
    tmp_path: Path, database_url: str
) -> None:
    clinic = clinic_with_a_due_reminder(tmp_path, database_url)
    before = runtime_for(clinic)
    await before.start(paused=True)  # it planned the jobs, then the process went down
    before.shutdown()

    back = runtime_for(clinic)
    try:
        await run_until_executed(back, {"reminder:appt-1:48h"})
    finally:
        back.shutdown()
    _, still_pending = await restart(clinic)

    assert len(clinic.provider.sent) == 1
    assert outbox_rows(clinic) == [("reminder:appt-1:48h", "sent")]
    assert "reminder:appt-1:48h" not in still_pending
    assert "reminder:appt-1:2h" in still_pending


async def test_a_dispatch_cut_short_before_the_provider_is_sent_once_after_restart(
    tmp_path: Path, database_url: str
) -> None:
    clinic = clinic_with_a_due_reminder(tmp_path, database_url)
    real_trigger = clinic.rasa.trigger_intent

    async def dies(*args: object, **kwargs: object) -> object:
        raise Crash

    clinic.rasa.trigger_intent = dies  # type: ignore[method-assign]
    await dispatch_dying(clinic)
    assert outbox_rows(clinic) == [("reminder:appt-1:48h", "sending")]
    clinic.rasa.trigger_intent = real_trigger  # type: ignore[method-assign]

    recovered, _ = await restart(clinic)

    assert recovered == ["sent"]
    assert len(clinic.provider.sent) == 1
    assert outbox_rows(clinic) == [("reminder:appt-1:48h", "sent")]


async def test_a_dispatch_cut_short_after_the_provider_took_it_is_not_sent_again(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = clinic_with_a_due_reminder(tmp_path, database_url)

    def dies(**_: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        # dies where the outcome is written, after the provider took the message
        patch.setattr(dispatch_module, "add_outreach_lines", dies)
        await dispatch_dying(clinic)
    assert len(clinic.provider.sent) == 1

    recovered, pending = await restart(clinic)

    assert recovered == ["sent"]
    assert len(clinic.provider.sent) == 1
    assert "reminder:appt-1:48h" not in pending


async def test_a_dispatch_cut_short_between_the_provider_and_its_record_is_not_sent_again(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider's window: it took the message, the process died before the delivery row.
    After the restart the provider is asked what it took, so the message is not sent twice."""
    clinic = clinic_with_a_due_reminder(tmp_path, database_url)

    def dies(*args: object, **_: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(PhoneOutbound, "_record", staticmethod(dies))
        await dispatch_dying(clinic)
    assert len(clinic.provider.sent) == 1
    with clinic.session_factory() as session:
        assert session.scalars(select(OutboundDelivery)).all() == []  # no evidence left here

    recovered, pending = await restart(clinic)

    assert recovered == ["sent"]
    assert len(clinic.provider.sent) == 1
    assert "reminder:appt-1:48h" not in pending
    with clinic.session_factory() as session:
        [found] = session.scalars(select(OutboundDelivery)).all()
    assert (found.provider_message_id, found.status) == (f"SM{1:032d}", "recovered")


async def test_sync_schedules_only_the_kinds_the_patient_agreed_to(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime(2026, 6, 8, 12, tzinfo=UTC)
    clinic = open_clinic(
        tmp_path,
        [appointment("appt-1", datetime(2026, 6, 10, 14, tzinfo=UTC))],
        database_url=database_url,
    )
    clinic.consent_to([CHECKIN])
    runtime = runtime_for(clinic, clock=now)
    try:
        await runtime.start(paused=True)
        jobs = [job for job, _ in pending_jobs(runtime.scheduler)]
    finally:
        runtime.shutdown()

    assert jobs == ["checkin:appt-1"]


async def test_a_withdrawn_consent_removes_the_patients_jobs(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime(2026, 6, 8, 12, tzinfo=UTC)
    clinic = open_clinic(
        tmp_path,
        [appointment("appt-1", datetime(2026, 6, 10, 14, tzinfo=UTC))],
        database_url=database_url,
    )
    runtime = runtime_for(clinic, clock=now)
    try:
        await runtime.start(paused=True)
        before = [job for job, _ in pending_jobs(runtime.scheduler)]
        clinic.consent_to([])
        report = await runtime.sync()
        after = pending_jobs(runtime.scheduler)
    finally:
        runtime.shutdown()

    assert len(before) == 3
    assert sorted(report.removed) == sorted(before)
    assert after == []
