"""The one outreach scheduler: APScheduler with its job store in the backend database.

Jobs are a cache of the plan (backend/outreach/plan.py): the periodic sync adds a job per
message due, with a deterministic id, replaces it when what it is about changed (a moved
appointment) and removes it when it no longer applies (a cancelled one). The outbox, not the
job store, decides whether a message was sent: APScheduler deletes a one-off job before it
runs it, so a job cut short by a crash is recovered from its outbox claim at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine

from backend.ehr.errors import EhrError

from . import outbox
from .contacts import all_contacts
from .dispatch import Dispatcher, Outcome
from .kinds import JOB_PREFIX
from .plan import plan_for_patient

logger = logging.getLogger(__name__)
JOB_TABLE = "outreach_jobs"
SYNC_JOB_ID = "sync"
MESSAGE_PREFIXES = tuple(f"{prefix}:" for prefix in JOB_PREFIX.values())
Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    return datetime.now(UTC)


def job_store(engine: Engine) -> SQLAlchemyJobStore:
    """APScheduler's job table in the backend's own database (SQLite or PostgreSQL)."""
    return SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)


def make_scheduler(engine: Engine) -> AsyncIOScheduler:
    """A scheduler whose late jobs still run once when it starts (the dispatcher then decides
    whether the message still makes sense)."""
    return AsyncIOScheduler(
        jobstores={"default": job_store(engine)},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=UTC,
    )


@dataclass
class SyncReport:
    """What one reconciliation changed."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class OutreachRuntime:
    """The scheduler process's state: the dispatcher, the scheduler and the clock."""

    dispatcher: Dispatcher
    scheduler: BaseScheduler
    clock: Clock = utc_clock
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)
    # Messages dispatched at once (each conversation still one at a time, see Dispatcher).
    concurrency: int = 8
    _slots: asyncio.Semaphore | None = None

    async def start(self, *, paused: bool = False) -> list[str]:
        """Settle interrupted messages, reconcile the jobs with the plan, then let jobs run
        (unless `paused`); the statuses of the interrupted messages."""
        _activate(self)
        recovered = await self.dispatcher.recover(now=self.clock())
        self.scheduler.start(paused=True)  # reconcile before any stored job may fire
        self.scheduler.add_job(
            run_sync,
            "interval",
            id=SYNC_JOB_ID,
            minutes=self.dispatcher.config.sync_minutes,
            replace_existing=True,
        )
        await self.sync()
        if not paused:
            self.scheduler.resume()
        return recovered

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        _activate(None)

    async def sync(self) -> SyncReport:
        """Make the job store match the plan of every contact."""
        report = SyncReport()
        now = self.clock()
        dispatcher = self.dispatcher
        with dispatcher.session_factory() as session:
            contacts = all_contacts(session=session, cipher=dispatcher.cipher)
        jobs = {job.id: job for job in self.scheduler.get_jobs() if _is_message(job)}
        wanted: dict[str, tuple[str, str, datetime]] = {}
        unreachable: set[str] = set()
        for contact in contacts:
            try:
                plan = await plan_for_patient(
                    ehr=dispatcher.ehr,
                    patient_id=contact.patient_id,
                    patient_hash=contact.patient_hash,
                    zone=dispatcher.zone_of(contact),
                    config=dispatcher.config,
                    now=now,
                )
            except EhrError:
                unreachable.add(contact.patient_hash)  # keep their jobs until the EHR answers
                continue
            with dispatcher.session_factory() as session:
                for item in plan:
                    if item.kind not in contact.consents:
                        continue  # nothing to schedule for a kind the patient did not agree to
                    if not outbox.already_claimed(session=session, key=item.outbox_key):
                        wanted[item.job_id] = (item.patient_hash, item.occurrence, item.due)
        for job_id, (patient, occurrence, due) in wanted.items():
            existing = jobs.get(job_id)
            if existing is not None and existing.args[1:] == (patient, occurrence):
                continue  # already planned (perhaps deferred past its due time): leave it
            self.scheduler.add_job(
                run_message_job,
                "date",
                id=job_id,
                run_date=max(due, now),
                args=(job_id, patient, occurrence),
                replace_existing=True,
            )
            (report.replaced if existing is not None else report.added).append(job_id)
        for job_id, job in jobs.items():
            if job_id not in wanted and job.args[1] not in unreachable:
                self.scheduler.remove_job(job_id)
                report.removed.append(job_id)
        return report

    async def run_message(self, job_id: str, patient_hash: str, occurrence: str) -> Outcome:
        """Dispatch one message job; a deferred one is put back for its next allowed time."""
        if self._slots is None:  # created here: it must belong to the running event loop
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            outcome = await self.dispatcher.dispatch(
                job_id=job_id, patient_hash=patient_hash, now=self.clock()
            )
        self.outcomes.append((job_id, outcome))
        if outcome.retry_at is not None:
            self.scheduler.add_job(
                run_message_job,
                "date",
                id=job_id,
                run_date=outcome.retry_at,
                args=(job_id, patient_hash, occurrence),
                replace_existing=True,
            )
        logger.info("outreach job %s: %s", job_id, outcome.status)
        return outcome


def _is_message(job: Job) -> bool:
    return job.id.startswith(MESSAGE_PREFIXES)


# APScheduler stores a job's function by its import path, so the jobs in the database call
# these module functions, which find the process's runtime here.
_current: OutreachRuntime | None = None


def _activate(runtime: OutreachRuntime | None) -> None:
    global _current
    _current = runtime


def _runtime() -> OutreachRuntime:
    if _current is None:
        raise RuntimeError("the outreach runtime is not started in this process")
    return _current


async def run_message_job(job_id: str, patient_hash: str, occurrence: str) -> None:
    await _runtime().run_message(job_id, patient_hash, occurrence)


async def run_sync() -> None:
    report = await _runtime().sync()
    logger.info(
        "outreach sync: %d added, %d replaced, %d removed",
        len(report.added),
        len(report.replaced),
        len(report.removed),
    )


def pending_jobs(scheduler: BaseScheduler) -> list[tuple[str, datetime | None]]:
    """(job id, next run time) of every scheduled message, soonest first."""
    far = datetime.max.replace(tzinfo=UTC)
    jobs = [(job.id, job.next_run_time) for job in scheduler.get_jobs() if _is_message(job)]
    return sorted(jobs, key=lambda pair: pair[1] or far)
