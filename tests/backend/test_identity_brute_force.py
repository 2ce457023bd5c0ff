"""Guessing does not work: lockouts, code expiry, single use and rate limits, on a clock the
tests move (backend/identity/verification.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from backend.core.config import Settings
from backend.db.models import utcnow
from backend.identity.access import NotVerified, require_subject
from backend.identity.steps import Outcome, Policy, Step
from backend.identity.verification import IdentityDesk
from tests.backend.identity_world import MATEO, ZOE, World, make_world


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bench:
    world: World
    desk: IdentityDesk
    clock: Clock

    def sms_conversation(self, patient_id: str) -> str:
        return self.world.conversation("sms", self.world.patient(patient_id).phones[0])

    async def start(self, conversation: str, patient_id: str, **extra: object) -> Step:
        born = self.world.birth_date(patient_id)
        return await self.desk.start(conversation, birth_date=born, **extra)  # type: ignore[arg-type]

    def code_for(self, patient_id: str) -> str:
        return self.world.last_code(self.world.patient(patient_id).phones[0])


@contextmanager
def make_bench(settings: Settings) -> Iterator[Bench]:
    world, client = make_world(settings)
    clock = Clock(utcnow())
    desk = IdentityDesk(
        db=world.services.db,
        cipher=world.services.cipher,
        ehr=world.ehr,
        phone=world.services.phone_outbound,
        policy=Policy.from_settings(settings),
        clock=clock,
    )
    with client:
        yield Bench(world, desk, clock)


@pytest.fixture
def bench(settings: Settings) -> Iterator[Bench]:
    with make_bench(settings) as made:
        yield made


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_the_fourth_code_is_refused_even_when_right(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    code = bench.code_for(ZOE)

    first = await bench.desk.confirm(conversation, wrong(code))
    second = await bench.desk.confirm(conversation, wrong(code))
    third = await bench.desk.confirm(conversation, wrong(code))
    fourth = await bench.desk.confirm(conversation, code)

    assert (first.outcome, first.attempts_left) == (Outcome.WRONG_CODE, 2)
    assert (second.outcome, second.attempts_left) == (Outcome.WRONG_CODE, 1)
    assert (third.outcome, third.retry_after_minutes) == (Outcome.LOCKED, 15)
    assert fourth.outcome is Outcome.LOCKED
    assert not (await bench.desk.status(conversation)).verified


async def test_after_a_wrong_birth_date_three_codes_lock_the_conversation_for_15_minutes(
    bench: Bench,
) -> None:
    conversation = bench.sms_conversation(ZOE)
    born = bench.world.birth_date(ZOE)
    assert (await bench.desk.start(conversation, birth_date=born - timedelta(days=1))).outcome is (
        Outcome.AWAITING_CODE
    )
    assert bench.world.outbox() == []  # nothing matched: no code went out
    steps = [await bench.desk.confirm(conversation, f"{n:06d}") for n in (1, 2, 3)]
    assert [s.outcome for s in steps] == [Outcome.WRONG_CODE, Outcome.WRONG_CODE, Outcome.LOCKED]

    assert (await bench.start(conversation, ZOE)).outcome is Outcome.LOCKED
    bench.clock.advance(minutes=14, seconds=59)
    assert (await bench.start(conversation, ZOE)).outcome is Outcome.LOCKED

    bench.clock.advance(seconds=2)
    assert (await bench.start(conversation, ZOE)).outcome is Outcome.AWAITING_CODE
    step = await bench.desk.confirm(conversation, bench.code_for(ZOE))
    assert step.outcome is Outcome.VERIFIED


async def test_wrong_codes_lock_the_challenge_not_the_phone_on_file(bench: Bench) -> None:
    zoe = bench.world.patient(ZOE)
    first_chat = bench.world.conversation("rest", "first")
    await bench.start(first_chat, ZOE, family=zoe.family)
    code = bench.code_for(ZOE)
    for _ in range(3):
        await bench.desk.confirm(first_chat, wrong(code))
    assert (await bench.start(first_chat, ZOE, family=zoe.family)).outcome is Outcome.LOCKED

    on_her_phone = bench.sms_conversation(ZOE)
    assert (await bench.start(on_her_phone, ZOE)).outcome is Outcome.AWAITING_CODE
    assert (await bench.desk.confirm(on_her_phone, bench.code_for(ZOE))).outcome is (
        Outcome.VERIFIED
    )


async def test_codes_expire_after_ten_minutes(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    code = bench.code_for(ZOE)

    bench.clock.advance(minutes=10, seconds=1)

    assert (await bench.desk.confirm(conversation, code)).outcome is Outcome.EXPIRED
    assert (await bench.desk.confirm(conversation, code)).outcome is Outcome.NO_PENDING
    assert not (await bench.desk.status(conversation)).verified


async def test_a_code_just_inside_ten_minutes_still_works(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    bench.clock.advance(minutes=9, seconds=59)
    assert (await bench.desk.confirm(conversation, bench.code_for(ZOE))).outcome is (
        Outcome.VERIFIED
    )


async def test_a_code_works_once(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    code = bench.code_for(ZOE)

    assert (await bench.desk.confirm(conversation, code)).outcome is Outcome.VERIFIED
    await bench.desk.end(conversation)

    assert (await bench.desk.confirm(conversation, code)).outcome is Outcome.NO_PENDING
    assert not (await bench.desk.status(conversation)).verified


async def test_a_new_code_replaces_the_old_one(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    old = bench.code_for(ZOE)
    await bench.start(conversation, ZOE)
    new = bench.code_for(ZOE)
    if old != new:
        assert (await bench.desk.confirm(conversation, old)).outcome is Outcome.WRONG_CODE
    assert (await bench.desk.confirm(conversation, new)).outcome is Outcome.VERIFIED


async def test_codes_per_phone_are_limited_per_hour(bench: Bench) -> None:
    conversation = bench.sms_conversation(MATEO)
    outcomes = [(await bench.start(conversation, MATEO)).outcome for _ in range(6)]
    # The sender's own limit: it says nothing about anyone else.
    assert outcomes == [Outcome.AWAITING_CODE] * 5 + [Outcome.RATE_LIMITED]
    assert len(bench.world.outbox()) == 5

    bench.clock.advance(hours=1, seconds=1)
    assert (await bench.start(conversation, MATEO)).outcome is Outcome.AWAITING_CODE


async def test_starts_per_conversation_are_limited_per_hour(settings: Settings) -> None:
    # Every start is answered with a code request; lift that limit to reach the starts'.
    patient = settings.model_copy(update={"identity_codes_per_hour": 100})
    with make_bench(patient) as bench:
        conversation = bench.world.conversation("rest", "sprayer")
        born = bench.world.birth_date(ZOE)
        outcomes = [
            (await bench.desk.start(conversation, birth_date=born, family=f"Guess{n}")).outcome
            for n in range(11)
        ]
        assert outcomes == [Outcome.AWAITING_CODE] * 10 + [Outcome.RATE_LIMITED]
        bench.clock.advance(hours=1, seconds=1)
        step = await bench.desk.start(conversation, birth_date=born, family="Guess")
        assert step.outcome is Outcome.AWAITING_CODE


async def test_a_verification_ends_after_the_idle_limit(bench: Bench) -> None:
    conversation = bench.sms_conversation(ZOE)
    await bench.start(conversation, ZOE)
    await bench.desk.confirm(conversation, bench.code_for(ZOE))
    assert (await bench.desk.status(conversation)).verified

    bench.clock.advance(minutes=31)

    assert not (await bench.desk.status(conversation)).verified


async def test_the_idle_limit_comes_from_settings(settings: Settings) -> None:
    with make_bench(settings.model_copy(update={"identity_idle_minutes": 5})) as bench:
        conversation = bench.sms_conversation(ZOE)
        await bench.start(conversation, ZOE)
        await bench.desk.confirm(conversation, bench.code_for(ZOE))
        bench.clock.advance(minutes=6)
        assert not (await bench.desk.status(conversation)).verified


async def test_every_routes_access_check_honours_the_configured_idle(settings: Settings) -> None:
    """Routes call `require_subject` without an idle argument: the limit from settings
    reaches them through the session factory."""
    with make_bench(settings.model_copy(update={"identity_idle_minutes": 5})) as bench:
        conversation = bench.sms_conversation(ZOE)
        await bench.start(conversation, ZOE)
        await bench.desk.confirm(conversation, bench.code_for(ZOE))
        services = bench.world.services
        with services.session_factory() as session:
            ask = {"session": session, "cipher": services.cipher, "conversation_id": conversation}
            assert require_subject(**ask, now=bench.clock.now + timedelta(minutes=4)) == ZOE
            with pytest.raises(NotVerified):
                require_subject(**ask, now=bench.clock.now + timedelta(minutes=6))
