"""No patient name, phone, birth date or code in any log record while identities are checked.

Every logger is opened to DEBUG (the app's, SQLAlchemy's, httpx's, …), the identity flows run
on every channel, with families, wrong answers, lockouts and the IDOR sweep, and then every
captured record (message, arguments and traceback) is searched for the seeded values.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from backend.core.config import Settings
from tests.backend import test_identity_idor as idor
from tests.backend.identity_world import CODE, MATEO, SIOBHAN, VALENTINA, World, world_for

ZOE = "pat-003"


def open_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)


def seeded_values(world: World, patient_ids: list[str]) -> set[str]:
    values: set[str] = set()
    for pid in patient_ids:
        patient = world.patient(pid)
        values |= {patient.given, patient.family, *patient.phones}
        values |= {phone.removeprefix("+1") for phone in patient.phones}  # national digits
        if patient.birth_date:
            values |= {patient.birth_date.isoformat(), patient.birth_date.strftime("%m/%d/%Y")}
        if patient.mrn:
            values.add(patient.mrn)
    return {v for v in values if len(v) >= 3}


def run_every_flow(world: World) -> None:
    zoe = world.patient(ZOE)
    for channel, address in [("sms", zoe.phones[0]), ("whatsapp", "whatsapp:" + zoe.phones[0])]:
        conversation = world.conversation(channel, address)
        world.verify(conversation, ZOE)
        world.post("end", {"conversation_id": conversation})
    for channel, address in [("rest", "r1"), ("web", "w1"), ("telegram", "42")]:
        conversation = world.conversation(channel, address)
        world.verify(conversation, ZOE, family=zoe.family, given=zoe.given)
        world.post("status", {"conversation_id": conversation})
    family_phone = world.conversation("sms", world.patient(MATEO).phones[0])
    world.verify(family_phone, MATEO)
    world.post("status", {"conversation_id": family_phone})
    world.verify(world.conversation("sms", world.patient(SIOBHAN).phones[0]), SIOBHAN)
    world.verify(world.conversation("whatsapp", world.patient(MATEO).phones[0]), VALENTINA)
    guesser = world.conversation("rest", "guesser")
    born = world.birth_date(ZOE)
    for days in (1, 2, 3, 4):
        world.post(
            "start",
            {
                "conversation_id": guesser,
                "family": zoe.family,
                "birth_date": (born - timedelta(days=days)).isoformat(),
            },
        )
    wrong_codes = world.conversation("sms", world.patient(VALENTINA).phones[0])
    world.post(
        "start",
        {"conversation_id": wrong_codes, "birth_date": world.birth_date(VALENTINA).isoformat()},
    )
    for code in ("000000", "111111", "222222", "333333"):
        world.post("confirm", {"conversation_id": wrong_codes, "code": code})
    conversation, reverify = idor.verified(world, ZOE)
    idor.sweep(world, conversation, reverify, idor.target(world.ehr, idor.STRANGER))


def test_no_seeded_value_or_code_reaches_a_log_record(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with world_for(settings) as world:
        open_every_logger(caplog)
        run_every_flow(world)
        codes = {m.group(1) for _, text in world.outbox() for m in [CODE.search(text)] if m}
        forbidden = seeded_values(
            world, [ZOE, MATEO, VALENTINA, SIOBHAN, "pat-038", "pat-042", idor.STRANGER]
        )

    assert codes, "the flows sent codes"
    assert caplog.records, "the flows logged something (the capture works)"
    for record in caplog.records:
        text = " ".join(
            [record.getMessage(), repr(record.args), record.exc_text or "", str(record.exc_info)]
        )
        found = [value for value in forbidden | codes if value in text]
        assert not found, f"{record.name} logged patient data"
