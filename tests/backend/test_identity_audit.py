"""The access audit (backend/identity/audit.py): local rows first, FHIR AuditEvents best effort."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import AccessAudit, PhoneConsent
from backend.ehr.errors import EhrUnavailable
from backend.ehr.fake import InMemoryEhr
from backend.identity.audit import mirror_to_ehr, record_access
from backend.services import Services


def _rows(services: Services) -> list[AccessAudit]:
    with services.session_factory() as session:
        return list(session.scalars(select(AccessAudit).order_by(AccessAudit.id)))


def test_a_read_is_audited_without_committing_the_callers_transaction(services: Services) -> None:
    with services.session_factory() as session:
        record_access(
            session=session,
            conversation_id="conv-a",
            patient_id="pat-001",
            action="read.results",
            outcome="success",
        )
    [row] = _rows(services)
    assert (row.conversation_id, row.patient_id, row.action, row.outcome) == (
        "conv-a",
        "pat-001",
        "read.results",
        "success",
    )


def test_a_refused_read_stays_audited_when_the_caller_rolls_back(services: Services) -> None:
    with services.session_factory() as session:
        session.execute(select(AccessAudit)).all()  # the caller is mid-transaction, reads only
        record_access(
            session=session,
            conversation_id="conv-a",
            patient_id=None,
            action="read.appointments",
            outcome="denied",
            detail="not_verified",
        )
        session.rollback()
    assert [(r.outcome, r.detail) for r in _rows(services)] == [("denied", "not_verified")]


def test_with_pending_writes_the_row_joins_the_callers_transaction(services: Services) -> None:
    with services.session_factory() as session:
        session.add(
            PhoneConsent(phone_hash="h" * 64, opted_out=False, keyword="STOP", channel="sms")
        )
        session.flush()
        record_access(
            session=session,
            conversation_id="conv-a",
            patient_id="pat-001",
            action="write.refill",
            outcome="success",
        )
        session.rollback()  # the write and its audit row go together
    assert _rows(services) == []
    with services.session_factory() as session:
        session.add(
            PhoneConsent(phone_hash="h" * 64, opted_out=False, keyword="STOP", channel="sms")
        )
        record_access(
            session=session,
            conversation_id="conv-a",
            patient_id="pat-001",
            action="write.refill",
            outcome="success",
        )
        session.commit()
    assert [r.action for r in _rows(services)] == ["write.refill"]


def test_unknown_outcome_is_a_programming_error(services: Services) -> None:
    with services.session_factory() as session, pytest.raises(ValueError):
        record_access(
            session=session, conversation_id="c", patient_id=None, action="read.x", outcome="ok"
        )


async def test_the_ehr_gets_an_authentication_audit_event() -> None:
    ehr = InMemoryEhr()
    assert await mirror_to_ehr(ehr, action="identity.verify", succeeded=False, patient_id=None)
    [event] = ehr.audit_log
    assert event["type"]["code"] == "110114"
    assert event["outcome"] == "4"
    assert all("what" not in entity for entity in event["entity"])  # nobody named on a failure


async def test_an_ehr_that_is_down_loses_nothing_locally(services: Services) -> None:
    ehr = InMemoryEhr()
    ehr.fail_next = EhrUnavailable("AuditEvent", "create", "connection refused")
    with services.session_factory() as session:
        record_access(
            session=session,
            conversation_id="conv-a",
            patient_id="pat-001",
            action="identity.verify",
            outcome="success",
        )
    assert not await mirror_to_ehr(ehr, action="identity.verify", succeeded=True, patient_id="p")
    assert [r.action for r in _rows(services)] == ["identity.verify"]
