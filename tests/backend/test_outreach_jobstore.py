"""The batched job store: the one-off jobs of a wake-up are gone from the table before any of
them runs (as with APScheduler's own store), removed in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, table

from backend.db.session import make_engine
from backend.outreach.scheduler import JOB_TABLE, BatchedJobStore, make_scheduler

seen: list[int] = []  # rows left in the job table when each job ran


async def record_rows_left(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        seen.append(int(connection.scalar(select(func.count()).select_from(table(JOB_TABLE)))))
    engine.dispose()


async def test_due_jobs_are_deleted_together_before_any_of_them_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    seen.clear()
    engine = make_engine(url)
    scheduler = make_scheduler(engine)
    assert isinstance(scheduler._jobstores["default"], BatchedJobStore)
    scheduler.start(paused=True)
    due = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(5):
        job_id = f"reminder:appt-{i}:48h"
        scheduler.add_job(record_rows_left, "date", id=job_id, run_date=due, args=(url,))
    deletes: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count_deletes(*args: object) -> None:
        statement = str(args[2])
        if statement.startswith("DELETE FROM outreach_jobs"):
            deletes.append(statement)

    try:
        scheduler.resume()
        for _ in range(200):  # the jobs run on this loop; give them a few turns
            if len(seen) == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()

    assert seen == [0, 0, 0, 0, 0]
    assert len(deletes) == 1
