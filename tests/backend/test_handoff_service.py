"""Hand-offs in the database: opening, the queue's order, claim races, transfer, hand-back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.core.errors import UnknownConversation
from backend.db.models import Handoff, utcnow
from backend.handoff import service
from backend.handoff.states import InvalidTransition, Priority, Reason, State
from backend.services import Services
from tests.utils.handoffs import claim_race, make_clinician, make_conversation


@pytest.fixture
def db(services: Services) -> Iterator[Session]:
    with services.session_factory() as session:
        yield session


def open_for(db: Session, cipher: Cipher, address: str, reason: Reason, **kw: object) -> Handoff:
    conversation = make_conversation(db, cipher, address=address)
    handoff, created = service.open_handoff(
        session=db, cipher=cipher, conversation_id=conversation.id, reason=reason, **kw
    )
    assert created
    return handoff


def test_opening_a_handoff_queues_it_with_an_encrypted_summary(
    db: Session, services: Services
) -> None:
    summary = {"level": "emergency", "rules": ["RF-CHEST-001"], "findings": ["chest pain"]}
    handoff = open_for(db, services.cipher, "+1555", Reason.EMERGENCY, summary=summary)
    assert handoff.state == State.WAITING and handoff.priority == Priority.URGENT
    assert "chest" not in (handoff.summary_ciphertext or "")
    assert service.decrypt_summary(services.cipher, handoff) == summary


def test_opening_twice_keeps_one_handoff_and_raises_its_priority(
    db: Session, services: Services
) -> None:
    first = open_for(db, services.cipher, "+1555", Reason.PATIENT_REQUEST)
    again, created = service.open_handoff(
        session=db,
        cipher=services.cipher,
        conversation_id=first.conversation_id,
        reason=Reason.EMERGENCY,
    )
    assert not created and again.id == first.id
    assert (again.priority, again.reason) == ("urgent", "emergency")
    assert len(service.queue(session=db)) == 1


def test_opening_for_an_unknown_conversation_is_refused(db: Session, services: Services) -> None:
    with pytest.raises(UnknownConversation):
        service.open_handoff(
            session=db, cipher=services.cipher, conversation_id="nope", reason=Reason.EMERGENCY
        )


def test_the_queue_is_ordered_by_priority_then_waiting_time(
    db: Session, services: Services
) -> None:
    normal_old = open_for(db, services.cipher, "a", Reason.PATIENT_REQUEST)
    urgent_new = open_for(db, services.cipher, "b", Reason.EMERGENCY)
    high = open_for(db, services.cipher, "c", Reason.URGENT_TRIAGE)
    urgent_old = open_for(db, services.cipher, "d", Reason.CRITICAL_RESULT)
    now = utcnow()
    for handoff, age in ((normal_old, 60), (urgent_new, 1), (high, 5), (urgent_old, 30)):
        db.execute(
            update(Handoff)
            .where(Handoff.id == handoff.id)
            .values(waiting_since=now - timedelta(minutes=age))
        )
    db.commit()
    order = [h.id for h in service.queue(session=db)]
    assert order == [urgent_old.id, urgent_new.id, high.id, normal_old.id]
    assert service.queue_position(session=db, handoff=normal_old) == 4


def test_claim_release_transfer_resolve_and_hand_back(db: Session, services: Services) -> None:
    ann = make_clinician(db)
    bob = make_clinician(db, email="bob@clinic.example", name="Bob")
    handoff = open_for(db, services.cipher, "+1555", Reason.CLINICAL_QUESTION)
    held = service.claim(session=db, handoff_id=handoff.id, clinician_id=ann.id)
    assert (held.state, held.claimed_by) == (State.WITH_CLINICIAN, ann.id)
    back = service.release(session=db, handoff_id=handoff.id, clinician_id=ann.id)
    assert (back.state, back.claimed_by) == (State.WAITING, None)
    service.claim(session=db, handoff_id=handoff.id, clinician_id=ann.id)
    moved = service.transfer(
        session=db, handoff_id=handoff.id, clinician_id=ann.id, to_clinician_id=bob.id
    )
    assert moved.claimed_by == bob.id
    with pytest.raises(service.NotHolder):
        service.resolve(session=db, handoff_id=handoff.id, clinician_id=ann.id, hand_back=True)
    done = service.resolve(session=db, handoff_id=handoff.id, clinician_id=bob.id, hand_back=True)
    assert (done.state, done.outcome) == (State.RESOLVED, "hand_back")
    assert done.resolved_at is not None
    assert service.active_handoff(session=db, conversation_id=handoff.conversation_id) is None
    assert service.hand_back(session=db, handoff_id=handoff.id).state == State.BOT
    with pytest.raises(InvalidTransition):
        service.claim(session=db, handoff_id=handoff.id, clinician_id=ann.id)


def test_claiming_twice_gives_already_claimed(db: Session, services: Services) -> None:
    ann = make_clinician(db)
    bob = make_clinician(db, email="bob@clinic.example", name="Bob")
    handoff = open_for(db, services.cipher, "+1555", Reason.PATIENT_REQUEST)
    service.claim(session=db, handoff_id=handoff.id, clinician_id=ann.id)
    with pytest.raises(service.AlreadyClaimed) as caught:
        service.claim(session=db, handoff_id=handoff.id, clinician_id=bob.id)
    assert caught.value.claimed_by == ann.id


def test_a_resolved_conversation_can_escalate_again(db: Session, services: Services) -> None:
    ann = make_clinician(db)
    first = open_for(db, services.cipher, "+1555", Reason.PATIENT_REQUEST)
    service.claim(session=db, handoff_id=first.id, clinician_id=ann.id)
    service.resolve(session=db, handoff_id=first.id, clinician_id=ann.id, hand_back=False)
    second, created = service.open_handoff(
        session=db,
        cipher=services.cipher,
        conversation_id=first.conversation_id,
        reason=Reason.NOT_UNDERSTOOD,
    )
    assert created and second.id != first.id


def test_twenty_concurrent_claims_on_sqlite_have_exactly_one_winner(
    db: Session, services: Services
) -> None:
    clinicians = [
        make_clinician(db, email=f"c{i}@clinic.example", name=f"C{i}").id for i in range(20)
    ]
    handoff = open_for(db, services.cipher, "+1555", Reason.EMERGENCY)
    outcomes = claim_race(services.session_factory, handoff.id, clinicians)
    winners = [who for kind, who in outcomes if kind == "won"]
    assert len(outcomes) == 20 and len(winners) == 1
    assert all(who == winners[0] for kind, who in outcomes if kind == "lost")
    db.expire_all()
    assert db.get(Handoff, handoff.id).claimed_by == winners[0]  # type: ignore[union-attr]
