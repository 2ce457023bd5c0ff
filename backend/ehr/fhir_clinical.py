"""Lab results, medications, refill Tasks and escalation writes over FHIR."""

from __future__ import annotations

from datetime import datetime, timezone

from fhirclient.models.medicationrequest import MedicationRequest
from fhirclient.models.task import Task

from . import builders, codes, mapping
from .domain import Created, LabReport, Medication, RefillTask
from .errors import EhrBadResponse, NotFound
from .fhir_base import FhirBase
from .parse import bundle_resources, parse_model, ref_id

_MIN = datetime.min.replace(tzinfo=timezone.utc)


class ClinicalOps(FhirBase):
    """Results, medications, refills and escalations."""

    async def released_lab_reports(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[LabReport]:
        """Released (final/amended/corrected/appended) lab reports with their Observations."""
        params = [
            ("patient", f"Patient/{patient_id}"),
            ("status", ",".join(codes.RELEASED_REPORT_STATUSES)),
            ("category", f"{codes.V2_0074}|LAB"),
            ("_include", "DiagnosticReport:result"),
            ("_sort", "-date"),
            ("_count", "100"),
        ]
        if since is not None:
            params.append(
                ("date", f"ge{since.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}")
            )
        bundle = await self._search("DiagnosticReport", params, "read lab results")
        reports = [
            r
            for r in bundle_resources(bundle, "DiagnosticReport")
            if r.status in codes.RELEASED_REPORT_STATUSES
            and ref_id(r.subject, "Patient") == patient_id
        ]
        observations = {o.id: o for o in bundle_resources(bundle, "Observation")}
        missing = sorted(
            {
                oid
                for r in reports
                for oid in (ref_id(x, "Observation") for x in r.result or [])
                if oid and oid not in observations
            }
        )
        for i in range(0, len(missing), 50):  # servers that ignore _include
            extra = await self._search(
                "Observation",
                [("_id", ",".join(missing[i : i + 50])), ("_count", "100")],
                "read lab results",
            )
            observations.update({o.id: o for o in bundle_resources(extra, "Observation")})
        await self._audit(
            subtype="search-type", patient_ids=[patient_id], query="DiagnosticReport?patient"
        )
        out = [mapping.lab_report(r, observations) for r in reports]
        return sorted(out, key=lambda r: r.effective or r.issued or _MIN, reverse=True)

    async def medication_requests(
        self, *, patient_id: str, active_only: bool = False
    ) -> list[Medication]:
        """The patient's MedicationRequests (orders), newest first."""
        params = [("patient", f"Patient/{patient_id}"), ("intent", "order"), ("_count", "200")]
        if active_only:
            params.append(("status", "active"))
        bundle = await self._search("MedicationRequest", params, "list medications")
        meds = [mapping.medication(m) for m in bundle_resources(bundle, "MedicationRequest")]
        meds = [
            m
            for m in meds
            if m.patient_id == patient_id and (not active_only or m.status == "active")
        ]
        await self._audit(
            subtype="search-type", patient_ids=[patient_id], query="MedicationRequest?patient"
        )
        return sorted(meds, key=lambda m: m.authored_on or _MIN, reverse=True)

    async def _open_refill(self, medication_request_id: str) -> RefillTask | None:
        params = [
            ("focus", f"MedicationRequest/{medication_request_id}"),
            ("code", f"{codes.TASK_CODE_SYSTEM}|{codes.TASK_CODE_REFILL}"),
            ("status", ",".join(codes.OPEN_TASK_STATUSES)),
            ("_count", "10"),
        ]
        bundle = await self._search("Task", params, "request refill")
        tasks = [
            t for t in bundle_resources(bundle, "Task") if t.status in codes.OPEN_TASK_STATUSES
        ]
        return mapping.refill_task(tasks[0]) if tasks else None

    async def request_refill(
        self,
        *,
        medication_request_id: str,
        patient_id: str,
        note: str | None = None,
        pharmacy: str | None = None,
        review_reason: str | None = None,
    ) -> RefillTask:
        """Create (or return the already open) refill Task for this MedicationRequest."""
        model, body, _ = await self._read(
            MedicationRequest, medication_request_id, "request refill"
        )
        if ref_id(model.subject, "Patient") != patient_id:
            # never reveal that someone else's prescription exists
            raise NotFound("MedicationRequest", medication_request_id, "request refill")
        await self._audit(
            subtype="read",
            patient_ids=[patient_id],
            query=f"MedicationRequest/{medication_request_id}",
        )
        existing = await self._open_refill(medication_request_id)
        if existing is not None:
            return existing
        task = builders.refill_task(
            medication_request=body,
            patient_id=patient_id,
            note=note,
            pharmacy=pharmacy,
            review_reason=review_reason,
        )
        stored = await self._create(task, "request refill")
        return mapping.refill_task(parse_model(Task, stored, operation="request refill"))

    async def refill_tasks(self, *, patient_id: str) -> list[RefillTask]:
        """The patient's refill Tasks, newest first."""
        params = [
            ("patient", f"Patient/{patient_id}"),
            ("code", f"{codes.TASK_CODE_SYSTEM}|{codes.TASK_CODE_REFILL}"),
            ("_count", "100"),
        ]
        bundle = await self._search("Task", params, "list refills")
        tasks = [mapping.refill_task(t) for t in bundle_resources(bundle, "Task")]
        await self._audit(subtype="search-type", patient_ids=[patient_id], query="Task?patient")
        return sorted(tasks, key=lambda t: t.authored_on or _MIN, reverse=True)

    async def get_refill_task(self, task_id: str) -> RefillTask:
        """One refill Task by id; raises NotFound."""
        model, _, _ = await self._read(Task, task_id, "read refill")
        task = mapping.refill_task(model)
        if not task.medication_request_id:
            raise EhrBadResponse(
                "Task", "read refill", f"Task/{task_id}.focus is not a MedicationRequest"
            )
        if task.patient_id:
            await self._audit(
                subtype="read", patient_ids=[task.patient_id], query=f"Task/{task_id}"
            )
        return task

    async def create_communication(
        self, *, patient_id: str, text: str, category: str = "notification"
    ) -> Created:
        """Record a message to/about the patient as a Communication (status completed)."""
        stored = await self._create(
            builders.communication(patient_id=patient_id, text=text, category=category), "escalate"
        )
        return Created("Communication", stored["id"])

    async def create_flag(
        self, *, patient_id: str, text: str, category: str = "clinical"
    ) -> Created:
        """Put an active Flag on the patient's record."""
        stored = await self._create(
            builders.flag(patient_id=patient_id, text=text, category=category), "escalate"
        )
        return Created("Flag", stored["id"])

    async def request_appointment(
        self,
        *,
        patient_id: str,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        reason: str | None = None,
    ) -> Created:
        """Record a `proposed` Appointment with the requested period, for staff to book."""
        if end <= start:
            raise ValueError("the requested period must end after it starts")
        stored = await self._create(
            builders.proposed_appointment(
                patient_id=patient_id,
                start=start.isoformat(),
                end=end.isoformat(),
                specialty=specialty,
                reason=reason,
            ),
            "request",
        )
        return Created("Appointment", stored["id"])

    async def create_escalation_task(
        self,
        *,
        patient_id: str,
        description: str,
        priority: str = "urgent",
        owner_reference: str | None = None,
    ) -> Created:
        """Create a Task for clinic staff to follow up a hand-off."""
        if priority not in ("routine", "urgent", "asap", "stat"):
            raise ValueError(f"priority must be routine, urgent, asap or stat, not {priority!r}")
        stored = await self._create(
            builders.escalation_task(
                patient_id=patient_id,
                description=description,
                priority=priority,
                owner_reference=owner_reference,
            ),
            "escalate",
        )
        return Created("Task", stored["id"])
