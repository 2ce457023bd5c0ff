"""Replies to outreach that change the EHR, for the action server (service token required).

`POST /internal/outreach/confirm`: the patient answered C / "confirm" to a reminder. The
appointment must be the verified patient's own (or a dependant's, via `for_patient`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from backend.api.deps import ServiceCaller, ServicesDep
from backend.ehr.errors import EhrError, InvalidState, NotFound
from backend.identity.access import AccessDenied, require_subject
from backend.identity.audit import record_access

router = APIRouter(prefix="/internal/outreach", tags=["internal"], dependencies=[ServiceCaller])
ACTION = "write.appointment_confirmation"


class ConfirmRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    appointment_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]+$")
    for_patient: str | None = Field(default=None, min_length=1, max_length=64)


class ConfirmPublic(BaseModel):
    confirmed: bool


@router.post("/confirm")
async def confirm_appointment(services: ServicesDep, body: ConfirmRequest) -> ConfirmPublic:
    """Record that the patient will attend a booked appointment (AppointmentResponse)."""
    if services.ehr is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable")
    with services.session_factory() as session:
        try:
            patient_id = require_subject(
                session=session,
                cipher=services.cipher,
                conversation_id=body.conversation_id,
                for_patient=body.for_patient,
            )
        except AccessDenied as exc:
            record_access(
                session=session,
                conversation_id=body.conversation_id,
                patient_id=None,
                action=ACTION,
                outcome="denied",
                detail=exc.code,
            )
            session.commit()
            raise HTTPException(status.HTTP_403_FORBIDDEN, exc.code) from exc
        outcome, detail, error = "success", None, None
        try:
            await services.ehr.confirm_attendance(
                appointment_id=body.appointment_id, patient_id=patient_id
            )
        except NotFound:
            outcome, detail = "failure", "not_found"
            error = HTTPException(status.HTTP_404_NOT_FOUND, "not_found")
        except InvalidState:
            outcome, detail = "failure", "not_booked"
            error = HTTPException(status.HTTP_409_CONFLICT, "not_booked")
        except EhrError as exc:
            outcome, detail = "error", type(exc).__name__
            error = HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable")
        record_access(
            session=session,
            conversation_id=body.conversation_id,
            patient_id=patient_id,
            action=ACTION,
            outcome=outcome,
            detail=detail,
        )
        session.commit()
    if error is not None:
        raise error
    return ConfirmPublic(confirmed=True)
