"""The internal API the action server calls (service token required)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from backend.api.deps import ServiceCaller, SettingsDep

router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[ServiceCaller])


class ClinicContactPublic(BaseModel):
    name: str
    phone: str
    hours: str
    emergency_number: str


@router.get("/clinic")
def clinic_contact(settings: SettingsDep) -> ClinicContactPublic:
    """The clinic's public contact details."""
    return ClinicContactPublic(
        name=settings.clinic_name, phone=settings.clinic_phone, hours=settings.clinic_hours,
        emergency_number=settings.emergency_number,
    )
