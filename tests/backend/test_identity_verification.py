"""Identity verification through /internal/identity on every kind of channel, families and
guardians, what a stranger learns (nothing), and logging out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import AccessAudit, IdentityChallenge
from backend.ehr.fake import InMemoryEhr
from backend.identity.access import NotInCare, NotVerified, require_subject
from tests.backend.identity_world import (
    DIEGO,
    MATEO,
    NO_PHONE_PATIENT,
    SIOBHAN,
    VALENTINA,
    ZOE,
    World,
    make_world,
    world_for,
)


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with world_for(settings) as made:
        yield made


WEB_CHANNELS = [("rest", "web-token-1"), ("web", "socket-token-1"), ("telegram", "555001")]


def subject(world: World, conversation_id: str, for_patient: str | None = None) -> str:
    with world.services.session_factory() as session:
        return require_subject(
            session=session,
            cipher=world.services.cipher,
            conversation_id=conversation_id,
            for_patient=for_patient,
        )


@pytest.mark.parametrize(("channel", "address"), WEB_CHANNELS)
def test_name_and_birth_date_then_the_code_verify_on_web_and_telegram(
    world: World, channel: str, address: str
) -> None:
    conversation = world.conversation(channel, address)
    zoe = world.patient(ZOE)
    status = world.post("status", {"conversation_id": conversation})
    assert (status["verified"], status["identifies_by"]) == (False, "name")

    step = world.post(
        "start",
        {
            "conversation_id": conversation,
            "family": zoe.family.upper(),
            "given": zoe.given,
            "birth_date": zoe.birth_date.isoformat() if zoe.birth_date else "",
        },
    )

    assert step["outcome"] == "awaiting_code"
    [(to, text)] = world.outbox()
    assert to == zoe.phones[0]  # the phone on file in the EHR, the only way the code leaves
    assert zoe.given not in text and zoe.family not in text
    code = world.last_code(to)
    verified = world.post("confirm", {"conversation_id": conversation, "code": code})
    assert verified["outcome"] == "verified"
    assert subject(world, conversation) == ZOE


@pytest.mark.parametrize(
    ("channel", "address"),
    [("sms", "+12125550152"), ("whatsapp", "whatsapp:+12125550152"), ("sms", "(212) 555-0152")],
)
def test_on_phone_channels_the_birth_date_is_enough_before_the_code(
    world: World, channel: str, address: str
) -> None:
    conversation = world.conversation(channel, address)
    status = world.post("status", {"conversation_id": conversation})
    assert status["identifies_by"] == "phone"

    verified = world.verify(conversation, ZOE)

    assert verified["outcome"] == "verified"
    assert subject(world, conversation) == ZOE


def test_the_code_goes_to_the_phone_on_file_not_to_the_sender(world: World) -> None:
    conversation = world.conversation("telegram", "777")
    zoe = world.patient(ZOE)
    world.post(
        "start",
        {
            "conversation_id": conversation,
            "family": zoe.family,
            "birth_date": world.birth_date(ZOE).isoformat(),
        },
    )
    assert [to for to, _ in world.outbox()] == [zoe.phones[0]]


def test_stranger_and_wrong_birth_date_get_the_same_answer(world: World) -> None:
    zoe = world.patient(ZOE)
    stranger = world.post(
        "start",
        {
            "conversation_id": world.conversation("rest", "a"),
            "family": "Nobody",
            "given": "At-All",
            "birth_date": "1990-01-01",
        },
    )
    wrong_birth_date = world.post(
        "start",
        {
            "conversation_id": world.conversation("rest", "b"),
            "family": zoe.family,
            "given": zoe.given,
            "birth_date": "1990-01-01",
        },
    )
    on_the_phone = world.post(
        "start",
        {"conversation_id": world.conversation("sms", zoe.phones[0]), "birth_date": "1990-01-01"},
    )
    assert stranger == wrong_birth_date == on_the_phone
    assert stranger["outcome"] == "awaiting_code"  # as for a match (test_identity_oracle.py)
    assert world.outbox() == []


def test_a_patient_without_a_phone_on_file_gets_the_same_answer_and_no_code(
    world: World,
) -> None:
    lonely = world.patient(NO_PHONE_PATIENT)
    step = world.post(
        "start",
        {
            "conversation_id": world.conversation("rest", "c"),
            "family": lonely.family,
            "birth_date": world.birth_date(NO_PHONE_PATIENT).isoformat(),
        },
    )
    assert step["outcome"] == "awaiting_code"
    assert world.outbox() == []


def test_a_parent_on_the_family_phone_can_act_for_the_children(world: World) -> None:
    conversation = world.conversation("sms", world.patient(MATEO).phones[0])

    verified = world.verify(conversation, MATEO)

    assert verified["outcome"] == "verified"
    assert {d["patient_id"] for d in verified["dependants"]} == {VALENTINA, DIEGO}  # type: ignore[union-attr]
    assert subject(world, conversation) == MATEO
    assert subject(world, conversation, for_patient=VALENTINA) == VALENTINA
    with pytest.raises(NotInCare):
        subject(world, conversation, for_patient=SIOBHAN)
    status = world.post("status", {"conversation_id": conversation})
    assert {d["given"] for d in status["dependants"]} == {"Valentina", "Diego"}  # type: ignore[union-attr]


def test_on_the_family_phone_the_birth_date_says_who_is_writing(world: World) -> None:
    conversation = world.conversation("whatsapp", world.patient(MATEO).phones[0])

    verified = world.verify(conversation, VALENTINA)

    assert verified["outcome"] == "verified"
    assert verified["dependants"] == []  # a child is nobody's guardian
    assert subject(world, conversation) == VALENTINA
    with pytest.raises(NotInCare):
        subject(world, conversation, for_patient=MATEO)


def test_a_guardian_acts_only_for_their_own_children(world: World) -> None:
    conversation = world.conversation("sms", world.patient(SIOBHAN).phones[0])
    verified = world.verify(conversation, SIOBHAN)
    assert [d["patient_id"] for d in verified["dependants"]] == ["pat-042"]  # type: ignore[union-attr]
    with pytest.raises(NotInCare):
        subject(world, conversation, for_patient=VALENTINA)


def _twins() -> InMemoryEhr:
    def twin(pid: str, given: str) -> dict[str, object]:
        return {
            "resourceType": "Patient",
            "id": pid,
            "name": [{"family": "Okafor", "given": [given]}],
            "birthDate": "2001-04-05",
            "telecom": [{"system": "phone", "value": "+12125550199"}],
        }

    return InMemoryEhr([twin("tw-1", "Ada"), twin("tw-2", "Bayo")])


def test_twins_on_one_phone_pick_themselves_by_initials(settings: Settings) -> None:
    world, client = make_world(settings, _twins())
    with client:
        conversation = world.conversation("sms", "+12125550199")
        step = world.post("start", {"conversation_id": conversation, "birth_date": "2001-04-05"})
        assert step["outcome"] == "choose"
        assert step["options"] == ["A. O.", "B. O."]  # initials only, never full names
        assert world.outbox() == []

        sent = world.post("choose", {"conversation_id": conversation, "option": 2})
        assert sent["outcome"] == "awaiting_code"
        code = world.last_code("+12125550199")
        assert (
            world.post("confirm", {"conversation_id": conversation, "code": code})["outcome"]
            == "verified"
        )
        assert subject(world, conversation) == "tw-2"


def test_saying_the_given_name_settles_it_without_a_choice(settings: Settings) -> None:
    world, client = make_world(settings, _twins())
    with client:
        conversation = world.conversation("sms", "+12125550199")
        step = world.post(
            "start",
            {"conversation_id": conversation, "birth_date": "2001-04-05", "given": "ada"},
        )
        assert step["outcome"] == "awaiting_code"


def test_log_out_ends_the_verification_at_once(world: World) -> None:
    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    world.verify(conversation, ZOE)

    assert world.post("end", {"conversation_id": conversation}) == {"ended": True}

    with pytest.raises(NotVerified):
        subject(world, conversation)
    assert world.post("status", {"conversation_id": conversation})["verified"] is False
    assert world.post("end", {"conversation_id": conversation}) == {"ended": False}


def test_log_out_also_voids_a_code_in_flight(world: World) -> None:
    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    world.post(
        "start",
        {"conversation_id": conversation, "birth_date": world.birth_date(ZOE).isoformat()},
    )
    code = world.last_code(world.patient(ZOE).phones[0])
    world.post("end", {"conversation_id": conversation})
    step = world.post("confirm", {"conversation_id": conversation, "code": code})
    assert step["outcome"] == "no_pending"
    with pytest.raises(NotVerified):
        subject(world, conversation)


def test_every_attempt_is_audited_here_and_in_the_ehr(world: World) -> None:
    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    world.post("start", {"conversation_id": conversation, "birth_date": "1990-01-01"})
    world.verify(conversation, ZOE)

    with world.services.session_factory() as session:
        rows = session.scalars(select(AccessAudit).order_by(AccessAudit.id)).all()
        trail = [(r.action, r.outcome, r.patient_id) for r in rows]
    assert trail == [
        ("identity.start", "failure", None),
        ("identity.code_sent", "success", ZOE),
        ("identity.verify", "success", ZOE),
    ]
    events = [e for e in world.ehr.audit_log if e["type"]["code"] == "110114"]
    assert [e["outcome"] for e in events] == ["4", "0"]


def test_the_code_and_the_people_are_stored_only_as_hashes_and_ciphertext(world: World) -> None:
    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    world.post(
        "start",
        {"conversation_id": conversation, "birth_date": world.birth_date(ZOE).isoformat()},
    )
    code = world.last_code(world.patient(ZOE).phones[0])
    with world.services.session_factory() as session:
        challenge = session.get(IdentityChallenge, conversation)
        assert challenge is not None
        stored = " ".join(
            str(v) for v in (challenge.code_hash, challenge.patient_ciphertext, challenge.phone_key)
        )
    assert code not in stored and ZOE not in stored and "555" not in stored


def test_bad_input_gets_clear_client_errors(world: World) -> None:
    conversation = world.conversation("rest", "d")
    client, headers = world.client, world.headers

    def post(path: str, body: dict[str, object], auth: bool = True) -> int:
        response = client.post(
            f"/internal/identity/{path}", json=body, headers=headers if auth else {}
        )
        return response.status_code

    assert post("status", {"conversation_id": conversation}, auth=False) == 401
    assert post("status", {"conversation_id": "nope"}) == 404
    assert post("confirm", {"conversation_id": conversation, "code": "12a456"}) == 422
    assert post("start", {"conversation_id": conversation, "birth_date": "1990-01-01"}) == 422
    assert post("start", {"conversation_id": conversation, "birth_date": "not a date"}) == 422
    future = date.today().replace(year=date.today().year + 1).isoformat()
    assert (
        post("start", {"conversation_id": conversation, "birth_date": future, "family": "X"}) == 422
    )
    assert post("choose", {"conversation_id": conversation, "option": 0}) == 422
    assert post("choose", {"conversation_id": conversation, "option": 1}) == 200


def test_an_ehr_that_is_down_is_a_503_and_counts_against_nobody(world: World) -> None:
    from backend.ehr.errors import EhrUnavailable

    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    for _ in range(4):
        world.ehr.fail_next = EhrUnavailable("Patient", "search", "down")
        response = world.client.post(
            "/internal/identity/start",
            json={"conversation_id": conversation, "birth_date": "1990-01-01"},
            headers=world.headers,
        )
        assert response.status_code == 503
    assert world.verify(conversation, ZOE)["outcome"] == "verified"


def test_a_verified_patient_is_reached_by_outreach_on_that_conversation(world: World) -> None:
    """Reminders and notices go where the patient last proved who they are."""
    from backend.outreach.contacts import all_contacts

    conversation = world.conversation("sms", world.patient(ZOE).phones[0])
    with world.services.session_factory() as session:
        assert all_contacts(session=session, cipher=world.services.cipher) == []

    assert world.verify(conversation, ZOE)["outcome"] == "verified"

    with world.services.session_factory() as session:
        [contact] = all_contacts(session=session, cipher=world.services.cipher)
    assert (contact.patient_id, contact.conversation_id) == (ZOE, conversation)


def test_the_clinics_default_consent_decides_what_a_verified_patient_agreed_to(
    settings: Settings,
) -> None:
    """With OUTREACH_DEFAULT_CONSENTS=[] verification makes a contact that nothing is sent to
    until staff record a consent."""
    from backend.outreach.contacts import all_contacts

    with world_for(settings.model_copy(update={"outreach_default_consents": []})) as world:
        conversation = world.conversation("sms", world.patient(ZOE).phones[0])
        assert world.verify(conversation, ZOE)["outcome"] == "verified"
        with world.services.session_factory() as session:
            [contact] = all_contacts(session=session, cipher=world.services.cipher)
    assert contact.consents == frozenset()
