"""Who may read a hand-off's transcript and private notes in the console.

Minimum necessary: the queue shows every clinician what is waiting (reason, priority, the
triage summary, the verified patient's minimal label) so they can pick the next one, but the
conversation itself is read by the clinician working it:

- `triage_lead` accounts (who watch and steer the whole queue) read every hand-off;
- any other clinician reads a hand-off they hold, or one they handled (held when it was
  resolved); for a finished one only the messages up to its resolution, not what the
  conversation said after they let it go;
- a waiting hand-off is read after claiming it (`ClaimFirst`); anyone else's, held or
  finished, is refused (`NotYours`). The API answers 403 to both: hand-off ids are
  sequential and listed in the queue, so a 404 would hide nothing and only confuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Clinician, Handoff, IdentityVerification, as_utc
from backend.handoff.states import State

Role = Literal["clinician", "triage_lead"]
ROLES: tuple[Role, ...] = get_args(Role)
QUEUE_ROLES: frozenset[str] = frozenset({"triage_lead"})


class ReadRefused(PermissionError):
    """The clinician may not read this hand-off's conversation; `why` says what to do."""

    why = "refused"
    message = "you may not read this conversation"

    def __init__(self, handoff_id: int, clinician_id: int) -> None:
        super().__init__(f"hand-off {handoff_id}: {self.message}")
        self.handoff_id = handoff_id
        self.clinician_id = clinician_id


class ClaimFirst(ReadRefused):
    why = "claim_first"
    message = "claim this conversation to read it"


class NotYours(ReadRefused):
    why = "not_yours"
    message = (
        "this conversation is held or was handled by another clinician; ask them or a triage lead"
    )


def check_read(*, clinician: Clinician, handoff: Handoff) -> datetime | None:
    """Raise ReadRefused unless the clinician may read it; returns the moment after which
    nothing may be shown (the resolution, for a clinician who handled it), or None."""
    if clinician.role in QUEUE_ROLES:
        return None
    if handoff.claimed_by == clinician.id:  # kept after resolve and hand back
        if handoff.state == State.WITH_CLINICIAN:
            return None
        return as_utc(handoff.resolved_at) if handoff.resolved_at else None
    if handoff.state == State.WAITING:
        raise ClaimFirst(handoff.id, clinician.id)
    raise NotYours(handoff.id, clinician.id)


def verified_patient(*, session: Session, cipher: Cipher, conversation_id: str) -> str | None:
    """The FHIR Patient the conversation was last verified as, even if that has lapsed since
    (the audit names whose record was read), or None."""
    row = session.get(IdentityVerification, conversation_id)
    return cipher.decrypt(row.patient_ciphertext) if row is not None else None
