"""The console's audit trail: sign-ins, transcript and note reads (granted or refused), second
factor changes, sign-outs everywhere.

Local first: `record` writes a `console_audit` row and commits it before the route answers, so
nothing is read without its row. Then `mirror` leaves the same event in the EHR as a FHIR
AuditEvent, in a task of its own on the event loop (`backend/identity/audit.mirror_to_ehr`:
best effort, a 2-second limit, never raises): the route holds no database connection while the
EHR is called, and an EHR that is down delays no clinician and loses no local row.

Rows carry ids only (clinician, hand-off, conversation, FHIR Patient) and a short reason code;
never message text, names or the email address typed into a failed sign-in.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import anyio.from_thread
from sqlalchemy.orm import Session

from backend.db.models import ConsoleAudit, utcnow
from backend.ehr import Ehr
from backend.identity.audit import mirror_to_ehr

OUTCOMES = frozenset({"success", "failure", "denied"})

SIGN_IN = "console.sign_in"
TRANSCRIPT_READ = "console.transcript.read"
NOTES_READ = "console.notes.read"
NOTE_WRITE = "console.notes.write"
TOTP_ENROLLED = "console.totp.enrolled"
SIGN_OUT_EVERYWHERE = "console.sign_out_everywhere"


@dataclass(frozen=True)
class ConsoleEvent:
    """One audited console event."""

    action: str
    outcome: str
    clinician_id: int | None
    handoff_id: int | None = None
    conversation_id: str | None = None
    patient_id: str | None = None
    client: str | None = None
    detail: str | None = None

    def ehr_action(self) -> str:
        """The AuditEvent's description: what, by whom, on which hand-off (ids only)."""
        parts = [self.action, f"clinician/{self.clinician_id or 'unknown'}"]
        if self.handoff_id is not None:
            parts.append(f"handoff/{self.handoff_id}")
        if self.detail:
            parts.append(self.detail)
        return " ".join(parts)


def record(*, session: Session, event: ConsoleEvent) -> None:
    """Write and commit the event's row (callers hold no other uncommitted work here)."""
    if event.outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
    session.add(
        ConsoleAudit(
            at=utcnow(),
            clinician_id=event.clinician_id,
            action=event.action[:48],
            outcome=event.outcome,
            handoff_id=event.handoff_id,
            conversation_id=event.conversation_id,
            patient_id=event.patient_id,
            client=event.client[:64] if event.client else None,
            detail=event.detail[:200] if event.detail else None,
        )
    )
    session.commit()


class AuditMirror:
    """The EHR copies in flight, so tests and shutdown can wait for them (`drain`)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[bool]] = set()

    def spawn(self, ehr: Ehr | None, event: ConsoleEvent) -> None:
        """Start the EHR copy on the running loop (from `async` code)."""
        if ehr is None:
            return
        task = asyncio.get_running_loop().create_task(
            mirror_to_ehr(
                ehr,
                action=event.ehr_action(),
                succeeded=event.outcome == "success",
                patient_id=event.patient_id,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn_from_thread(self, ehr: Ehr | None, event: ConsoleEvent) -> None:
        """`spawn` from a plain `def` route (FastAPI runs those in anyio worker threads)."""
        if ehr is None:
            return
        # Outside a worker thread of a running app (the CLI) there is no loop: the local row
        # stands alone.
        with contextlib.suppress(RuntimeError):
            anyio.from_thread.run_sync(self.spawn, ehr, event)

    async def drain(self) -> None:
        """Wait for this loop's copies in flight."""
        loop = asyncio.get_running_loop()
        pending = [task for task in self._tasks if task.get_loop() is loop]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


MIRROR = AuditMirror()  # one per process: tasks are per event loop (see `drain`)


def audit_from_thread(*, session: Session, ehr: Ehr | None, event: ConsoleEvent) -> None:
    """For plain `def` routes: the local row now, the EHR's AuditEvent on the loop after it."""
    record(session=session, event=event)
    MIRROR.spawn_from_thread(ehr, event)
