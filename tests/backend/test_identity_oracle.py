"""No oracle: every answer of every identity step is the same whether the details belong to a
patient or not (backend/identity/verification.py, docs/identity.md "What a stranger learns")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.core.config import Settings
from tests.backend.identity_world import NO_PHONE_PATIENT, ZOE, World, world_for


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with world_for(settings) as made:
        yield made


def walk(world: World, conversation: str, details: dict[str, object], code: str) -> list[object]:
    """Every answer a prober sees: start, status, three typed codes, status, start again,
    a choice nobody offered."""
    at = {"conversation_id": conversation}
    return [
        world.post("start", {**at, **details}),
        world.post("status", at),
        *(world.post("confirm", {**at, "code": code}) for _ in range(3)),
        world.post("status", at),
        world.post("start", {**at, **details}),
        world.post("choose", {**at, "option": 1}),
    ]


def a_wrong_code_for(world: World, patient_id: str) -> str:
    real = world.last_code(world.patient(patient_id).phones[0])
    return f"{(int(real) + 1) % 1_000_000:06d}"


def test_on_the_name_channels_a_patient_and_a_stranger_get_identical_answers(
    world: World,
) -> None:
    zoe, lonely = world.patient(ZOE), world.patient(NO_PHONE_PATIENT)
    exists = {"family": zoe.family, "given": zoe.given, "birth_date": str(zoe.birth_date)}
    first = world.conversation("rest", "probe-patient")
    world.post("start", {"conversation_id": first, **exists})
    typed = a_wrong_code_for(world, ZOE)  # any code but the one sent is wrong for everyone
    world.post("end", {"conversation_id": first})

    patient = walk(world, world.conversation("rest", "probe-1"), exists, typed)
    nobody = {"family": "Nobody", "given": "At-All", "birth_date": "1990-01-01"}
    stranger = walk(world, world.conversation("rest", "probe-2"), nobody, typed)
    wrong_birth_date = {**exists, "birth_date": "1990-01-01"}
    wrong_date = walk(world, world.conversation("telegram", "4242"), wrong_birth_date, typed)
    no_phone = {"family": lonely.family, "birth_date": str(lonely.birth_date)}
    no_phone_walk = walk(world, world.conversation("web", "probe-4"), no_phone, typed)

    assert patient == stranger == wrong_date == no_phone_walk
    assert [step.get("outcome") for step in patient if "outcome" in step] == [
        "awaiting_code",
        "wrong_code",
        "wrong_code",
        "locked",
        "locked",
        "no_pending",
    ]
    assert patient[1]["awaiting"] == "code"  # the status asks for a code either way


def test_on_the_phone_channels_a_patient_and_a_stranger_get_identical_answers(
    world: World,
) -> None:
    zoe = world.patient(ZOE)
    hers = world.conversation("sms", zoe.phones[0])
    world.post("start", {"conversation_id": hers, "birth_date": str(zoe.birth_date)})
    typed = a_wrong_code_for(world, ZOE)

    right = {"birth_date": str(zoe.birth_date)}
    patient = walk(world, world.conversation("whatsapp", f"whatsapp:{zoe.phones[0]}"), right, typed)
    unknown_number = walk(world, world.conversation("sms", "+12125550100"), right, typed)

    assert patient == unknown_number
    assert patient[0] == {
        "outcome": "awaiting_code",
        "options": [],
        "dependants": [],
        "attempts_left": None,
        "retry_after_minutes": None,
    }
