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


class BatchedJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store, deleting the one-off jobs of a wake-up at once.

    When jobs fall due, the scheduler reads them all (`get_due_jobs`), hands each to the
    executor and removes it (`remove_job`, one transaction each), and finally asks for the
    next run time; no job runs before that last call returns (it is all one step of the
    event loop). The removals are collected and made in one transaction at that point
    instead: the same end state before any message job starts, one commit instead of one
    per job. Should the process die in between, the jobs stay and run again after the
    restart, where the outbox refuses a second send.
    """

    _collecting = False
    _doomed: list[str]

    def get_due_jobs(self, now: datetime) -> list[Job]:
        jobs: list[Job] = super().get_due_jobs(now)
        self._collecting, self._doomed = True, []
        return jobs

    def remove_job(self, job_id: str) -> None:
        if self._collecting:
            self._doomed.append(job_id)
        else:
            super().remove_job(job_id)

    def get_next_run_time(self) -> datetime | None:
        if self._collecting:
            self._collecting = False
            doomed, self._doomed = self._doomed, []
            with self.engine.begin() as connection:
                for start in range(0, len(doomed), 500):  # under every database's bind limit
                    chunk = doomed[start : start + 500]
                    connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id.in_(chunk)))
        next_run: datetime | None = super().get_next_run_time()
        return next_run


def job_store(engine: Engine) -> SQLAlchemyJobStore:
    """APScheduler's job table in the backend's own database (SQLite or PostgreSQL)."""
    return BatchedJobStore(engine=engine, tablename=JOB_TABLE)


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
    # Jobs due together are dispatched in batches (shared reads, one commit for the claims,
    # one for the outcomes): at most `batch_size` per batch, `concurrency` batches at once.
    batch_size: int = 64
    concurrency: int = 2
    _queue: list[tuple[str, str, asyncio.Future[Outcome]]] = field(default_factory=list)
    _workers: set[asyncio.Task[None]] = field(default_factory=set)

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
            if not contact.consents:
                continue  # nothing may be sent: no EHR reads, and their jobs go below
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
                # nothing to schedule for a kind the patient did not agree to
                plan = [item for item in plan if item.kind in contact.consents]
                claimed = outbox.claimed_keys(
                    session=session, keys=(item.outbox_key for item in plan)
                )
            for item in plan:
                if item.outbox_key not in claimed:
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
        outcome = await self._dispatch_batched(job_id, patient_hash)
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

    async def _dispatch_batched(self, job_id: str, patient_hash: str) -> Outcome:
        """Queue the job for the next batch and wait for its outcome."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((job_id, patient_hash, done))
        if len(self._workers) < self.concurrency:
            worker = asyncio.create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return await done

    async def _work(self) -> None:
        # The scheduler starts every job due at one wake-up in the same loop step; yielding
        # once lets them all join the queue before the first batch is cut.
        await asyncio.sleep(0)
        while self._queue:
            batch, self._queue = self._queue[: self.batch_size], self._queue[self.batch_size :]
            try:
                outcomes = await self.dispatcher.dispatch_many(
                    [(job_id, key) for job_id, key, _ in batch], now=self.clock()
                )
            except BaseException as exc:  # each job reports it, as it would have alone
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise  # the process is stopping
                continue
            for (*_, done), outcome in zip(batch, outcomes, strict=True):
                if not done.done():
                    done.set_result(outcome)


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
