"""The access audit: every verification attempt and every read or write of patient data.

Call `record_access` on every such event, success or refusal. The row lands in the hub's
database (table `access_audit`, migration 0006) and, for actions that are not themselves FHIR
calls, `mirror_to_ehr` also leaves a FHIR AuditEvent in the EHR. Reads through the EHR port
already write their own AuditEvent (backend/ehr), so routes need not mirror those.

Transactions, so nothing is committed behind the caller's back:
- when the caller's session holds no uncommitted writes, the row is written and committed in
  a separate short session on the same database: the caller's transaction is untouched and
  the row survives even if the caller later rolls back (a refused read is still audited);
- when the caller's session has pending or flushed writes (e.g. a refill just recorded), the
  row joins that transaction (added and flushed, not committed): it is kept when the caller
  commits, and goes away with the write if the caller rolls back. A second connection would
  wait on the caller's own write lock under SQLite. (On PostgreSQL only unflushed changes are
  seen; flushed ones leave the row to its own session, which never waits there.)

`detail` takes short machine words (a reason code, a count), never names, phones, birth dates,
codes or message text; it is cut at 200 characters.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session

from backend.db.models import AccessAudit, utcnow
from backend.ehr import Ehr
from backend.ehr.errors import EhrError

log = logging.getLogger(__name__)

OUTCOMES = frozenset({"success", "failure", "denied", "error"})


def record_access(
    *,
    session: Session,
    conversation_id: str,
    patient_id: str | None,
    action: str,
    outcome: str,
    detail: str | None = None,
) -> None:
    """Write one audit row (see the module docstring for when it is committed)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
    row = AccessAudit(
        at=utcnow(),
        conversation_id=conversation_id[:64],
        patient_id=patient_id,
        action=action[:48],
        outcome=outcome,
        detail=detail[:200] if detail else None,
    )
    if _has_uncommitted_writes(session):
        session.add(row)
        session.flush()
        return
    with Session(bind=session.get_bind()) as own:
        own.add(row)
        own.commit()


async def mirror_to_ehr(
    ehr: Ehr | None,
    *,
    action: str,
    succeeded: bool,
    patient_id: str | None,
    timeout_s: float = 2.0,
) -> bool:
    """Best effort: the same event as a FHIR AuditEvent. Never raises and never waits longer
    than `timeout_s`, so an EHR that is down neither blocks the patient nor loses the local row
    (which the caller has already written). True when the EHR took it."""
    if ehr is None:
        return False
    try:
        await asyncio.wait_for(
            ehr.record_audit_event(action=action, succeeded=succeeded, patient_id=patient_id),
            timeout=timeout_s,
        )
    except (EhrError, TimeoutError) as exc:
        # The type only: EHR errors can quote the request, which may name the patient.
        log.warning("AuditEvent not written to the EHR (%s): %s", action, type(exc).__name__)
        return False
    return True


def _has_uncommitted_writes(session: Session) -> bool:
    """True when the caller's transaction would hold a write lock or carry unflushed changes."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False  # PostgreSQL: an insert into access_audit never waits on the caller
    # pysqlite opens a transaction only before the first write, so this is "has written".
    return bool(getattr(connection.connection.dbapi_connection, "in_transaction", False))
