"""An in-memory (optionally file-backed) `Ehr` for unit tests of other modules.

It holds plain FHIR JSON, parses it through the same fhirclient models and mappers as the HTTP
implementation, and behaves the same way (SlotTaken, NotFound, audit events), without a server:

    ehr = InMemoryEhr.from_seed(seed=42)          # the synthetic clinic, generated in memory
    ehr = InMemoryEhr.from_file("tests/x.json")   # a JSON list of resources or a Bundle
    ehr.fail_next = EhrUnavailable("Slot", "book")  # make the next call fail
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from . import builders, codes, mapping
from .domain import (
    Appointment,
    Created,
    FreeSlot,
    LabReport,
    Medication,
    RefillTask,
)
from .errors import InvalidState, NotFound, SlotTaken
from .fake_store import FakeStore
from .parse import ref_id

Resource = dict[str, Any]
_MIN = datetime.min.replace(tzinfo=timezone.utc)


class InMemoryEhr(FakeStore):
    """`Ehr` over a dict of FHIR JSON resources; `audit_log` collects the AuditEvents written."""

    # -- scheduling ----------------------------------------------------------------------------

    async def search_free_slots(
        self,
        *,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        practitioner_id: str | None = None,
        location_id: str | None = None,
        limit: int = 20,
    ) -> list[FreeSlot]:
        """Free slots in [start, end) matching the filters, earliest first."""
        self._check()
        out = []
        for s in self._all("Slot", lambda r: r.get("status") == "free"):
            sched = self._model(self._get("Schedule", ref_id(s["schedule"], "Schedule") or ""))
            fs = mapping.free_slot(self._model(s), sched)
            if not start <= fs.start < end or (specialty and fs.specialty != specialty):
                continue
            if (practitioner_id and fs.practitioner_id != practitioner_id) or (
                location_id and fs.location_id != location_id
            ):
                continue
            out.append(fs)
        return sorted(out, key=lambda f: f.start)[:limit]

    async def book(
        self, *, slot_id: str, patient_id: str, reason: str | None = None
    ) -> Appointment:
        """Book atomically; SlotTaken when not free."""
        self._check()
        slot = self._get("Slot", slot_id)
        if slot.get("status") != "free":
            raise SlotTaken(slot_id)
        sched = self._get("Schedule", ref_id(slot["schedule"], "Schedule") or "")
        appt = builders.appointment(slot=slot, schedule=sched, patient_id=patient_id, reason=reason)
        slot["status"] = "busy"
        self._put(slot)
        self._audit("create", [patient_id])
        return mapping.appointment(self._model(self._put(appt)))

    async def cancel(self, *, appointment_id: str, reason: str | None = None) -> Appointment:
        """Cancel and free the slot(s); idempotent."""
        self._check()
        appt = self._get("Appointment", appointment_id)
        if appt["status"] != "cancelled":
            if appt["status"] in (
                "fulfilled",
                "noshow",
                "arrived",
                "checked-in",
                "entered-in-error",
            ):
                raise InvalidState(
                    "Appointment", appointment_id, "cancel", f"it is {appt['status']}"
                )
            appt["status"] = "cancelled"
            if reason:
                appt["cancelationReason"] = {"text": reason}
            for s in appt.get("slot", []):
                slot = self._get("Slot", ref_id(s, "Slot") or "")
                slot["status"] = "free"
                self._put(slot)
            self._put(appt)
            self._audit("update", [ref_id(p["actor"], "Patient") or "" for p in _patients(appt)])
        return mapping.appointment(self._model(appt))

    async def reschedule(self, *, appointment_id: str, new_slot_id: str) -> Appointment:
        """Move to another free slot (old one freed)."""
        self._check()
        appt = self._get("Appointment", appointment_id)
        if appt["status"] not in ("booked", "pending", "proposed", "waitlist"):
            raise InvalidState(
                "Appointment", appointment_id, "reschedule", f"it is {appt['status']}"
            )
        new = self._get("Slot", new_slot_id)
        if new.get("status") != "free":
            raise SlotTaken(new_slot_id)
        for s in appt.get("slot", []):
            old = self._get("Slot", ref_id(s, "Slot") or "")
            old["status"] = "free"
            self._put(old)
        sched = self._get("Schedule", ref_id(new["schedule"], "Schedule") or "")
        patient = _patients(appt)[0]["actor"]
        appt.update(
            start=new["start"],
            end=new["end"],
            slot=[builders.ref("Slot", new_slot_id)],
            participant=builders.appointment_participants_from(sched, patient),
        )
        new["status"] = "busy"
        self._put(new)
        self._audit("update", [ref_id(patient, "Patient") or ""])
        return mapping.appointment(self._model(self._put(appt)))

    async def confirm_attendance(self, *, appointment_id: str, patient_id: str) -> Created:
        """Store the patient's accepted AppointmentResponse."""
        self._check()
        appt = self._get("Appointment", appointment_id)
        if not any(ref_id(p["actor"], "Patient") == patient_id for p in _patients(appt)):
            raise NotFound("Appointment", appointment_id, "confirm")
        if appt["status"] != "booked":
            raise InvalidState("Appointment", appointment_id, "confirm", f"it is {appt['status']}")
        stored = self._put(
            builders.appointment_response(appointment_id=appointment_id, patient_id=patient_id)
        )
        self._audit("create", [patient_id])
        return Created("AppointmentResponse", stored["id"])

    async def list_appointments(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[Appointment]:
        """The patient's appointments from `since`, earliest first."""
        self._check()
        appts = [mapping.appointment(self._model(r)) for r in self._all("Appointment")]
        appts = [
            a
            for a in appts
            if a.patient_id == patient_id
            and (since is None or (a.start is not None and a.start >= since))
        ]
        self._audit("search-type", [patient_id])
        return sorted(appts, key=lambda a: a.start or _MIN)

    # -- clinical ------------------------------------------------------------------------------

    async def released_lab_reports(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[LabReport]:
        """Released lab reports (never preliminary), newest first."""
        self._check()
        obs = {r["id"]: self._model(r) for r in self._all("Observation")}
        reports = [
            mapping.lab_report(self._model(r), obs)
            for r in self._all(
                "DiagnosticReport",
                lambda r: (
                    r.get("status") in codes.RELEASED_REPORT_STATUSES
                    and ref_id(r.get("subject"), "Patient") == patient_id
                ),
            )
        ]
        reports = [r for r in reports if since is None or (r.effective and r.effective >= since)]
        self._audit("search-type", [patient_id])
        return sorted(reports, key=lambda r: r.effective or _MIN, reverse=True)

    async def medication_requests(
        self, *, patient_id: str, active_only: bool = False
    ) -> list[Medication]:
        """The patient's MedicationRequests, newest first."""
        self._check()
        meds = [
            mapping.medication(self._model(r))
            for r in self._all(
                "MedicationRequest", lambda r: ref_id(r.get("subject"), "Patient") == patient_id
            )
        ]
        self._audit("search-type", [patient_id])
        meds = [m for m in meds if not active_only or m.status == "active"]
        return sorted(meds, key=lambda m: m.authored_on or _MIN, reverse=True)

    async def request_refill(
        self,
        *,
        medication_request_id: str,
        patient_id: str,
        note: str | None = None,
        pharmacy: str | None = None,
        review_reason: str | None = None,
    ) -> RefillTask:
        """Create or return the open refill Task."""
        self._check()
        mr = self._get("MedicationRequest", medication_request_id)
        if ref_id(mr.get("subject"), "Patient") != patient_id:
            raise NotFound("MedicationRequest", medication_request_id, "request refill")
        self._audit("read", [patient_id])
        for t in self._all(
            "Task",
            lambda t: (
                ref_id(t.get("focus"), "MedicationRequest") == medication_request_id
                and t["status"] in codes.OPEN_TASK_STATUSES
            ),
        ):
            return mapping.refill_task(self._model(t))
        task = self._put(
            builders.refill_task(
                medication_request=mr,
                patient_id=patient_id,
                note=note,
                pharmacy=pharmacy,
                review_reason=review_reason,
            )
        )
        return mapping.refill_task(self._model(task))

    async def refill_tasks(self, *, patient_id: str) -> list[RefillTask]:
        """The patient's refill Tasks."""
        self._check()
        tasks = [
            mapping.refill_task(self._model(t))
            for t in self._all(
                "Task", lambda t: ref_id(t.get("focus"), "MedicationRequest") is not None
            )
        ]
        self._audit("search-type", [patient_id])
        return [t for t in tasks if t.patient_id == patient_id]

    async def get_refill_task(self, task_id: str) -> RefillTask:
        """One refill Task by id."""
        self._check()
        return mapping.refill_task(self._model(self._get("Task", task_id)))

    async def create_communication(
        self, *, patient_id: str, text: str, category: str = "notification"
    ) -> Created:
        """Store a Communication."""
        self._check()
        return Created(
            "Communication",
            self._put(builders.communication(patient_id=patient_id, text=text, category=category))[
                "id"
            ],
        )

    async def create_flag(
        self, *, patient_id: str, text: str, category: str = "clinical"
    ) -> Created:
        """Store a Flag."""
        self._check()
        return Created(
            "Flag",
            self._put(builders.flag(patient_id=patient_id, text=text, category=category))["id"],
        )

    async def request_appointment(
        self,
        *,
        patient_id: str,
        start: datetime,
        end: datetime,
        specialty: str | None = None,
        reason: str | None = None,
    ) -> Created:
        """Store a `proposed` Appointment with the requested period."""
        self._check()
        if end <= start:
            raise ValueError("the requested period must end after it starts")
        stored = self._put(
            builders.proposed_appointment(
                patient_id=patient_id,
                start=start.isoformat(),
                end=end.isoformat(),
                specialty=specialty,
                reason=reason,
            )
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
        """Store a follow-up Task."""
        self._check()
        return Created(
            "Task",
            self._put(
                builders.escalation_task(
                    patient_id=patient_id,
                    description=description,
                    priority=priority,
                    owner_reference=owner_reference,
                )
            )["id"],
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def _patients(appt: dict) -> list[dict]:
    """The Patient participants of an Appointment."""
    return [
        p
        for p in appt.get("participant", [])
        if str(p.get("actor", {}).get("reference", "")).startswith("Patient/")
    ]
