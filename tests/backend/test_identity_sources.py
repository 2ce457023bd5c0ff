"""Limits per source, and a stranger who cannot lock a patient out: the lock falls on the
challenge, the care team is alerted, and the patient's own phone keeps verifying
(backend/identity/sources.py, target_watch.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import AccessAudit, Conversation, Handoff
from backend.handoff.service import decrypt_summary
from tests.backend.identity_world import ZOE, World, world_for

STRANGER = "203.0.113.9"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with world_for(settings) as made:
        yield made


def zoe_details(world: World) -> dict[str, object]:
    zoe = world.patient(ZOE)
    return {"family": zoe.family, "given": zoe.given, "birth_date": str(zoe.birth_date)}


def codes_to_zoe(world: World) -> int:
    phone = world.patient(ZOE).phones[0]
    return sum(1 for to, _ in world.outbox() if to == phone)


def try_and_fail(world: World, conversation: str, details: dict[str, object]) -> list[str]:
    """Start, then three wrong codes: the outcomes."""
    outcomes = [str(world.post("start", {"conversation_id": conversation, **details})["outcome"])]
    for typed in ("000001", "000002", "000003"):
        step = world.post("confirm", {"conversation_id": conversation, "code": typed})
        outcomes.append(str(step["outcome"]))
    return outcomes


def test_new_conversations_from_one_client_bring_no_fresh_attempts(world: World) -> None:
    nobody = {"family": "Nobody", "given": "At-All", "birth_date": "1990-01-01"}
    # IDENTITY_SOURCE_MAX_FAILURES (10): three conversations of three wrong codes, then one.
    for n in range(3):
        conversation = world.rest_conversation(f"spray-{n}", client=STRANGER)
        assert try_and_fail(world, conversation, nobody)[-1] == "locked"
    fourth = world.rest_conversation("spray-3", client=STRANGER)
    world.post("start", {"conversation_id": fourth, **nobody})
    tenth = world.post("confirm", {"conversation_id": fourth, "code": "000004"})
    assert tenth["outcome"] == "locked"

    fresh = world.rest_conversation("spray-4", client=STRANGER)
    assert world.post("start", {"conversation_id": fresh, **nobody})["outcome"] == "locked"
    assert world.post("status", {"conversation_id": fresh})["locked"] is True
    other_client = world.rest_conversation("neighbour", client=ELSEWHERE)
    step = world.post("start", {"conversation_id": other_client, **nobody})
    assert step["outcome"] == "awaiting_code"


def test_starts_are_limited_per_client_across_conversations(settings: Settings) -> None:
    with world_for(settings.model_copy(update={"identity_source_starts_per_hour": 4})) as world:
        nobody = {"family": "Nobody", "birth_date": "1990-01-01"}
        outcomes = [
            world.post(
                "start",
                {"conversation_id": world.rest_conversation(f"s{n}", client=STRANGER), **nobody},
            )["outcome"]
            for n in range(5)
        ]
        assert outcomes == ["awaiting_code"] * 4 + ["rate_limited"]


def test_a_strangers_failures_alert_the_care_team_and_leave_the_patients_phone_working(
    world: World,
) -> None:
    details = zoe_details(world)
    first = try_and_fail(world, world.rest_conversation("s-1", client=STRANGER), details)
    second = try_and_fail(world, world.rest_conversation("s-2", client=ELSEWHERE), details)
    assert first == second == ["awaiting_code", "wrong_code", "wrong_code", "locked"]
    assert codes_to_zoe(world) == 2

    # IDENTITY_TARGET_ALERT_AFTER (6): two codes and four wrong ones against Zoë's phone.
    with world.services.session_factory() as session:
        [alert] = session.scalars(select(Handoff).where(Handoff.reason == "identity_alert")).all()
        summary = decrypt_summary(world.services.cipher, alert)
        channel = session.get(Conversation, alert.conversation_id)
        audited = session.scalars(
            select(AccessAudit).where(AccessAudit.action == "identity.alert")
        ).all()
    assert (alert.state, alert.priority) == ("waiting", "high")
    assert channel is not None and channel.channel == "care_alert"
    assert summary is not None and summary["patient_id"] == ZOE
    assert [(a.patient_id, a.outcome) for a in audited] == [(ZOE, "denied")]

    # Codes to her phone from elsewhere are paused, with the same answer as ever.
    third = world.rest_conversation("s-3", client="192.0.2.55")
    assert world.post("start", {"conversation_id": third, **details})["outcome"] == "awaiting_code"
    assert codes_to_zoe(world) == 2

    # Her own phone is neither locked nor paused: she verifies as usual.
    hers = world.conversation("sms", world.patient(ZOE).phones[0])
    assert world.post("status", {"conversation_id": hers})["locked"] is False
    assert world.verify(hers, ZOE)["outcome"] == "verified"
    assert codes_to_zoe(world) == 3


def test_a_patients_own_verified_codes_raise_no_alert(world: World) -> None:
    details = zoe_details(world)
    for n in range(7):  # more than IDENTITY_TARGET_ALERT_AFTER, each one used
        conversation = world.rest_conversation(f"own-{n}", client=f"192.0.2.{n}")
        assert world.verify(conversation, ZOE, **details)["outcome"] == "verified"
    with world.services.session_factory() as session:
        alerts = session.scalars(select(Handoff).where(Handoff.reason == "identity_alert")).all()
    assert alerts == []
