"""The queue's view of who a verified conversation is with: initials, birth year, FHIR id.

Clinicians may see the verified identity; the label is kept minimal on purpose (the console
is on screens others can glance at). Names come from the EHR and are cached in memory for a
few minutes so the console's refresh does not query the EHR on every poll.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.ehr import Ehr, EhrError, PatientSummary
from backend.handoff.schemas import PatientIdentity
from backend.identity.access import verified_identity

logger = logging.getLogger(__name__)
# The console shows who the patient is while they wait, longer than the assistant's idle limit.
CONSOLE_IDLE = timedelta(hours=12)


def minimal_label(patient: PatientSummary) -> str:
    """ "A.L. 1984": initials and birth year."""
    initials = "".join(f"{part[0].upper()}." for part in (patient.given, patient.family) if part)
    year = str(patient.birth_date.year) if patient.birth_date else "?"
    return f"{initials or '?'} {year}"


@dataclass
class IdentityLabels:
    """Labels by FHIR Patient id, looked up in the EHR and kept for `ttl_s` seconds."""

    ehr: Ehr | None
    ttl_s: float = 300.0
    _cache: dict[str, tuple[float, str]] = field(default_factory=dict)

    def verified_patients(
        self, *, session: Session, cipher: Cipher, conversation_ids: list[str]
    ) -> dict[str, str]:
        """conversation id -> verified FHIR Patient id, for those that are verified."""
        found: dict[str, str] = {}
        for conversation_id in set(conversation_ids):
            identity = verified_identity(
                session=session,
                cipher=cipher,
                conversation_id=conversation_id,
                idle=CONSOLE_IDLE,
            )
            if identity is not None:
                found[conversation_id] = identity.patient_id
        return found

    async def identity(self, patient_id: str) -> PatientIdentity:
        """The label (the FHIR id alone when the EHR cannot be reached)."""
        cached = self._cache.get(patient_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return PatientIdentity(label=cached[1], fhir_id=patient_id)
        label = "verified patient"
        if self.ehr is not None:
            try:
                label = minimal_label(await self.ehr.get_patient(patient_id))
                self._cache[patient_id] = (time.monotonic(), label)
            except EhrError as exc:
                logger.warning("queue label: EHR lookup failed (%s)", type(exc).__name__)
        return PatientIdentity(label=label, fhir_id=patient_id)
