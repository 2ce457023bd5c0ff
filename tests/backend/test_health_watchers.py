"""The loop-lag monitor sees a blocked event loop; dependency checks run in the background
and /healthz reads their latest result, marking a result that stopped coming as down."""

from __future__ import annotations

import asyncio
import time

from backend.core.dependency_watch import NOT_CHECKED, DependencyWatch
from backend.core.loop_lag import LoopLagMonitor


def test_a_blocking_call_on_the_loop_shows_as_lag_at_least_as_long_as_the_block() -> None:
    async def run() -> tuple[float, float]:
        monitor = LoopLagMonitor(interval_s=0.01)
        monitor.start()
        await asyncio.sleep(0.1)
        calm = monitor.figures.max_ms
        time.sleep(0.4)  # what a synchronous database checkout on the loop would do
        await asyncio.sleep(0.05)
        blocked = monitor.figures.max_ms
        await monitor.stop()
        return calm, blocked

    calm, blocked = asyncio.run(run())

    assert blocked >= 390 > calm


def test_a_stall_in_progress_is_seen_from_outside_the_loop() -> None:
    monitor = LoopLagMonitor(interval_s=0.01)

    async def run() -> None:
        monitor.start()
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # the monitor cannot wake; stalled_for still grows
        assert monitor.stalled_for() >= 0.25
        await monitor.stop()

    asyncio.run(run())


def test_health_reads_the_latest_check_and_a_stale_one_counts_as_down() -> None:
    calls: list[str] = []

    async def rasa() -> tuple[bool, str]:
        calls.append("rasa")
        return True, "ok"

    async def ehr() -> tuple[bool, str]:
        raise ConnectionError("refused")

    async def run() -> None:
        watch = DependencyWatch({"rasa": rasa, "ehr": ehr}, interval_s=60, stale_s=0.2)
        assert watch.latest()["rasa"].detail == NOT_CHECKED
        await watch.check_now()
        first = watch.latest()
        assert first["rasa"].ok and not first["ehr"].ok
        assert "ConnectionError" in first["ehr"].detail
        assert watch.latest()["rasa"].ok and calls == ["rasa"]  # read, not checked again
        await asyncio.sleep(0.3)
        stale = watch.latest()["rasa"]
        assert not stale.ok and "ago" in stale.detail

    asyncio.run(run())
