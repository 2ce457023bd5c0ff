"""Lab results, medications and refills for the action server (service token required).

Every route names the conversation; `require_subject` decides whose record it may touch (the
verified patient, or a dependant named by `for_patient`), and every read, write and refusal is
written to the access audit. What the patient is told is composed in backend/records.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.api.deps import ServiceCaller, ServicesDep
from backend.api.patient_access import Subject, patient_subject
from backend.db.models import utcnow
from backend.ehr.port import Ehr
from backend.handoff.service import open_handoff
from backend.handoff.states import Reason
from backend.records import medications, refills, results, wording
from backend.services import Services

router = APIRouter(prefix="/internal/records", tags=["internal"], dependencies=[ServiceCaller])

ConversationId = Annotated[str, Query(min_length=1, max_length=64)]
ForPatient = Annotated[str | None, Query(min_length=1, max_length=64)]


def _ehr(services: Services) -> Ehr:
    if services.ehr is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "ehr_unavailable")
    return services.ehr


# -- results -----------------------------------------------------------------------------------


class ReportPublic(BaseModel):
    id: str
    name: str
    date: date | None
    lines: list[str]
    flags: list[str]


class ResultsPublic(BaseModel):
    """`messages` are ready to send; `reports` is empty when values may not be shown here."""

    messages: list[str]
    details_shown: bool
    available: int
    critical_withheld: int
    reports: list[ReportPublic]


@router.get("/results")
async def results_route(
    services: ServicesDep, conversation_id: ConversationId, for_patient: ForPatient = None
) -> ResultsPublic:
    """Released lab results in plain language (values only where the channel allows)."""
    ehr = _ehr(services)
    async with patient_subject(
        services, conversation_id=conversation_id, for_patient=for_patient, action="read.results"
    ) as subject:
        answer = await results.released_results(
            ehr=ehr,
            patient_id=subject.patient_id,
            channel=subject.channel,
            values_channels=services.settings.results_values_channels,
            web_chat_url=services.settings.public_base_url.rstrip("/") + "/",
        )
        detail = f"reports={answer.available};details={int(answer.details_shown)}"
        await subject.audit("read.results", "success", detail)
        if answer.critical:
            await services.db.run(partial(_escalate_critical, services, subject, answer))
    return ResultsPublic(
        messages=list(answer.messages),
        details_shown=answer.details_shown,
        available=answer.available,
        critical_withheld=len(answer.critical),
        reports=[
            ReportPublic(
                id=v.id, name=v.name, date=v.on, lines=list(v.lines), flags=[*map(str, v.flags)]
            )
            for v in answer.reports
        ],
    )


def _escalate_critical(
    services: Services, subject: Subject, answer: results.ResultsAnswer, session: Session
) -> None:
    """A clinician tells the patient about a critical result: queue the conversation (one
    database step: the hand-off and its audit row)."""
    summary: dict[str, Any] = {
        "critical_results": [
            {
                "report_id": r.id,
                "test": r.name,
                "date": str(results.report_day(r) or ""),
                "analytes": [x.name for x in r.results if wording.flag(x) is wording.Flag.CRITICAL],
            }
            for r in answer.critical
        ],
        "patient_id": subject.patient_id,
        "note": "Critical result withheld by the assistant; please contact the patient.",
    }
    open_handoff(
        session=session,
        cipher=services.cipher,
        conversation_id=subject.conversation_id,
        reason=Reason.CRITICAL_RESULT,
        summary=summary,
    )
    subject.audit_in(
        session,
        action="handoff.critical_result",
        outcome="success",
        detail=f"reports={len(answer.critical)}",
    )


# -- medications -------------------------------------------------------------------------------


class MedicationPublic(BaseModel):
    id: str
    name: str
    dosage: str | None
    refills_remaining: int | None
    prescriber: str | None
    needs_review: bool
    review_reason: str | None


class MedicationsPublic(BaseModel):
    """Active prescriptions, and the pharmacies of earlier refill requests (newest first)."""

    text: str
    data: list[MedicationPublic]
    pharmacies: list[str]


@router.get("/medications")
async def medications_route(
    services: ServicesDep, conversation_id: ConversationId, for_patient: ForPatient = None
) -> MedicationsPublic:
    """The patient's active medications with dose instructions and refills remaining."""
    ehr = _ehr(services)
    async with patient_subject(
        services,
        conversation_id=conversation_id,
        for_patient=for_patient,
        action="read.medications",
    ) as subject:
        active = await medications.active_medications(
            ehr=ehr, patient_id=subject.patient_id, today=utcnow().date()
        )
        earlier = await ehr.refill_tasks(patient_id=subject.patient_id)
        await subject.audit("read.medications", "success", f"count={len(active)}")
    pharmacies: list[str] = []
    for task in sorted(earlier, key=refills.authored, reverse=True):
        if task.pharmacy and task.pharmacy not in pharmacies:
            pharmacies.append(task.pharmacy)
    return MedicationsPublic(
        text=medications.medications_text(active),
        data=[
            MedicationPublic(
                id=m.id,
                name=m.name,
                dosage=m.dosage,
                refills_remaining=m.refills_remaining,
                prescriber=m.prescriber,
                needs_review=m.review_reason is not None,
                review_reason=m.review_reason,
            )
            for m in active
        ],
        pharmacies=pharmacies[:3],
    )


# -- refills -----------------------------------------------------------------------------------


class RefillCreate(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    for_patient: str | None = Field(default=None, min_length=1, max_length=64)
    medication_request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]+$")
    pharmacy: str | None = Field(default=None, min_length=1, max_length=200)


class RefillPublic(BaseModel):
    task_id: str
    status: str
    created: bool
    needs_review: bool
    text: str


@router.post("/refills", status_code=status.HTTP_201_CREATED)
async def request_refill_route(
    body: RefillCreate, services: ServicesDep, response: Response
) -> RefillPublic:
    """Send a refill request to the prescriber (200 with the earlier one if already asked)."""
    ehr = _ehr(services)
    async with patient_subject(
        services,
        conversation_id=body.conversation_id,
        for_patient=body.for_patient,
        action="write.refill",
    ) as subject:
        now = utcnow()
        try:
            outcome = await refills.request_refill(
                ehr=ehr,
                patient_id=subject.patient_id,
                medication_request_id=body.medication_request_id,
                pharmacy=body.pharmacy.strip() if body.pharmacy else None,
                now=now,
                locks=services.refill_locks,  # shared by every hub worker when Redis is set
            )
        except refills.UnknownMedication as exc:
            await subject.audit("write.refill", "failure", "unknown_medication")
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown_medication") from exc
        await subject.audit(
            "write.refill",
            "success",
            f"task={outcome.task.id};created={int(outcome.created)};"
            f"review={int(outcome.review_reason is not None)}",
        )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return RefillPublic(
        task_id=outcome.task.id,
        status=outcome.task.status,
        created=outcome.created,
        needs_review=outcome.task.needs_review or outcome.review_reason is not None,
        text=refills.outcome_text(
            outcome,
            turnaround_days=services.settings.refill_turnaround_business_days,
            today=now.date(),
        ),
    )


class RefillStatusPublic(BaseModel):
    task_id: str
    medication: str
    status: str
    needs_review: bool


class RefillsPublic(BaseModel):
    text: str
    data: list[RefillStatusPublic]


@router.get("/refills")
async def refill_status_route(
    services: ServicesDep, conversation_id: ConversationId, for_patient: ForPatient = None
) -> RefillsPublic:
    """Where the patient's refill requests stand (the Task status in the EHR)."""
    ehr = _ehr(services)
    async with patient_subject(
        services, conversation_id=conversation_id, for_patient=for_patient, action="read.refills"
    ) as subject:
        tasks = await ehr.refill_tasks(patient_id=subject.patient_id)
        orders = await ehr.medication_requests(patient_id=subject.patient_id)
        await subject.audit("read.refills", "success", f"count={len(tasks)}")
    names = {m.id: m.name for m in orders}
    latest = refills.latest_per_medication(tasks)
    return RefillsPublic(
        text=refills.status_text(latest, names),
        data=[
            RefillStatusPublic(
                task_id=t.id,
                medication=names.get(t.medication_request_id, "medication"),
                status=t.status,
                needs_review=t.needs_review,
            )
            for t in latest
        ],
    )
