"""Replies to outreach that change the EHR, for the action server (service token required).

`POST /internal/outreach/confirm`: the patient answered C / "confirm" to a reminder. The
appointment must be the verified patient's own (or a dependant's, via `for_patient`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from backend.api.deps import ServiceCaller, ServicesDep
from backend.api.patient_access import patient_subject

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
    async with patient_subject(
        services,
        conversation_id=body.conversation_id,
        action=ACTION,
        for_patient=body.for_patient,
        conflict="not_booked",
    ) as subject:
        await services.ehr.confirm_attendance(
            appointment_id=body.appointment_id, patient_id=subject.patient_id
        )
        await subject.audit(ACTION, "success")
    return ConfirmPublic(confirmed=True)
