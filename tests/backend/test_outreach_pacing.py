"""The provider rate limit, with a clock that only moves when the pacer sleeps."""

from __future__ import annotations

from itertools import pairwise

from backend.outreach.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_five_per_second_spaces_messages_a_fifth_of_a_second_apart() -> None:
    time = FakeTime()
    pacer = Pacer(5, clock=time.clock, sleep=time.sleep)
    handed_over: list[float] = []
    for _ in range(6):
        await pacer.wait()
        handed_over.append(time.now)

    gaps = [round(b - a, 9) for a, b in pairwise(handed_over)]
    assert gaps == [0.2] * 5
    assert round(handed_over[-1] - handed_over[0], 9) == 1.0  # six take a second, not less


async def test_time_spent_elsewhere_counts_toward_the_gap() -> None:
    time = FakeTime()
    pacer = Pacer(2, clock=time.clock, sleep=time.sleep)
    await pacer.wait()
    time.now += 0.3  # the send itself took 0.3 s
    await pacer.wait()
    assert [round(s, 9) for s in time.slept] == [0.2]


async def test_zero_means_no_limit() -> None:
    time = FakeTime()
    pacer = Pacer(0, clock=time.clock, sleep=time.sleep)
    for _ in range(100):
        await pacer.wait()
    assert time.slept == []
