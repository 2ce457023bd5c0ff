"""Booking, cancelling and rescheduling over FHIR.

Every change is one transaction Bundle whose PUTs carry `If-Match` with the version we read, so a
concurrent change makes the whole transaction fail (HTTP 409/412) and nothing is written: two
patients can never get the same slot.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from typing import Any

from fhirclient.models.appointment import Appointment as FhirAppointment
from fhirclient.models.schedule import Schedule
from fhirclient.models.slot import Slot

from . import builders, mapping
from .domain import Appointment, Created
from .errors import EhrBadResponse, InvalidState, NotFound, SlotTaken, VersionConflict
from .fhir_base import FhirBase
from .fhir_slots import utc
from .parse import bundle_resources, ref_id

FINAL_APPOINTMENT_STATUSES = ("fulfilled", "noshow", "arrived", "checked-in", "entered-in-error")


class SchedulingOps(FhirBase):
    """Booking, cancelling, rescheduling and listing appointments."""

    async def _free_slot_for_update(
        self, slot_id: str, operation: str
    ) -> tuple[dict[str, Any], str | None]:
        slot, body, version = await self._read(Slot, slot_id, operation)
        if slot.status != "free":
            raise SlotTaken(slot_id)
        return body, version

    async def book(
        self, *, slot_id: str, patient_id: str, reason: str | None = None
    ) -> Appointment:
        """Book the slot for the patient atomically; raises SlotTaken if someone else got it."""
        slot, version = await self._free_slot_for_update(slot_id, "book")
        schedule_id = ref_id(slot.get("schedule"), "Schedule")
        if not schedule_id:
            raise EhrBadResponse(
                "Slot", "book", f"Slot/{slot_id}.schedule is not a Schedule reference"
            )
        _, schedule = await self._read_cached(Schedule, schedule_id, "book")
        appt = builders.appointment(
            slot=slot, schedule=schedule, patient_id=patient_id, reason=reason
        )
        appt["id"] = str(uuid.uuid4())  # client-assigned: the booking is all PUTs
        busy = copy.deepcopy(slot)
        busy["status"] = "busy"
        busy.pop("meta", None)
        try:
            out = await self._transaction(
                # the guarded Slot first: servers without atomic transactions stop there
                [
                    self._put_entry(busy, version),
                    self._put_entry(appt, None),
                    self._audit_entry(
                        subtype="create", patient_id=patient_id, what=f"Appointment/{appt['id']}"
                    ),
                ],
                resource="Slot",
                operation="book",
                resource_id=slot_id,
            )
        except VersionConflict as e:
            raise SlotTaken(slot_id) from e
        return self._appointment_from(out, 1, "book")

    def _appointment_from(self, out: Any, index: int, operation: str) -> Appointment:
        entry = out.entry[index]
        if entry.resource is None or entry.resource.resource_type != "Appointment":
            raise EhrBadResponse(
                "Appointment", operation, f"entry.{index}.resource is not an Appointment"
            )
        return mapping.appointment(entry.resource)

    async def _appointment_for_update(
        self, appointment_id: str, operation: str
    ) -> tuple[Any, dict, str | None]:
        model, body, version = await self._read(FhirAppointment, appointment_id, operation)
        return model, body, version

    async def _slots_to_free(self, slot_ids: tuple[str, ...], operation: str) -> list[Any]:
        entries = []
        for sid in slot_ids:
            _, body, version = await self._read(Slot, sid, operation)
            if body.get("status") == "busy":
                body = copy.deepcopy(body)
                body["status"] = "free"
                body.pop("meta", None)
                entries.append(self._put_entry(body, version))
        return entries

    async def cancel(self, *, appointment_id: str, reason: str | None = None) -> Appointment:
        """Cancel the appointment and free its slot(s); idempotent on cancelled appointments."""
        model, body, version = await self._appointment_for_update(appointment_id, "cancel")
        if model.status == "cancelled":
            return mapping.appointment(model)
        if model.status in FINAL_APPOINTMENT_STATUSES:
            raise InvalidState("Appointment", appointment_id, "cancel", f"it is {model.status}")
        current = mapping.appointment(model)
        updated = copy.deepcopy(body)
        updated["status"] = "cancelled"
        updated.pop("meta", None)
        if reason:
            updated["cancelationReason"] = {"text": reason[:500]}
        entries = [
            self._put_entry(updated, version),
            *await self._slots_to_free(current.slot_ids, "cancel"),
        ]
        if current.patient_id:
            entries.append(
                self._audit_entry(
                    subtype="update",
                    patient_id=current.patient_id,
                    what=f"Appointment/{appointment_id}",
                )
            )
        out = await self._transaction(
            entries, resource="Appointment", operation="cancel", resource_id=appointment_id
        )
        return self._appointment_from(out, 0, "cancel")

    async def confirm_attendance(self, *, appointment_id: str, patient_id: str) -> Created:
        """The patient confirms a booked appointment: an accepted AppointmentResponse."""
        model, _, _ = await self._appointment_for_update(appointment_id, "confirm")
        if mapping.appointment(model).patient_id != patient_id:
            raise NotFound("Appointment", appointment_id, "confirm")
        if model.status != "booked":
            raise InvalidState("Appointment", appointment_id, "confirm", f"it is {model.status}")
        response = builders.appointment_response(
            appointment_id=appointment_id, patient_id=patient_id
        )
        stored = await self._create(response, "confirm")
        await self._audit(
            subtype="create", patient_ids=[patient_id], query=f"Appointment/{appointment_id}"
        )
        return Created("AppointmentResponse", stored["id"])

    async def reschedule(self, *, appointment_id: str, new_slot_id: str) -> Appointment:
        """Move the appointment to another free slot in one transaction (old slot freed)."""
        model, body, version = await self._appointment_for_update(appointment_id, "reschedule")
        if model.status not in ("booked", "pending", "proposed", "waitlist"):
            raise InvalidState("Appointment", appointment_id, "reschedule", f"it is {model.status}")
        current = mapping.appointment(model)
        if new_slot_id in current.slot_ids:
            return current
        new_slot, new_version = await self._free_slot_for_update(new_slot_id, "reschedule")
        schedule_id = ref_id(new_slot.get("schedule"), "Schedule") or ""
        _, schedule = await self._read_cached(Schedule, schedule_id, "reschedule")
        patient = next(
            (
                p["actor"]
                for p in body.get("participant", [])
                if str(p.get("actor", {}).get("reference", "")).startswith("Patient/")
            ),
            None,
        )
        if patient is None:
            raise InvalidState("Appointment", appointment_id, "reschedule", "it has no patient")
        moved = copy.deepcopy(body)
        moved.pop("meta", None)
        moved.update(
            start=new_slot["start"],
            end=new_slot["end"],
            slot=[builders.ref("Slot", new_slot_id)],
            participant=builders.appointment_participants_from(schedule, patient),
        )
        if new_slot.get("specialty") or schedule.get("specialty"):
            moved["specialty"] = new_slot.get("specialty") or schedule.get("specialty")
        busy = copy.deepcopy(new_slot)
        busy["status"] = "busy"
        busy.pop("meta", None)
        entries = [
            self._put_entry(busy, new_version),
            self._put_entry(moved, version),
            *await self._slots_to_free(current.slot_ids, "reschedule"),
            self._audit_entry(
                subtype="update",
                patient_id=ref_id(patient, "Patient") or "",
                what=f"Appointment/{appointment_id}",
            ),
        ]
        try:
            out = await self._transaction(
                entries, resource="Appointment", operation="reschedule", resource_id=appointment_id
            )
        except VersionConflict as e:
            latest, _, _ = await self._read(Slot, new_slot_id, "reschedule")
            if latest.status != "free":
                raise SlotTaken(new_slot_id) from e
            raise VersionConflict("Appointment", appointment_id, "reschedule") from e
        return self._appointment_from(out, 1, "reschedule")

    async def list_appointments(
        self, *, patient_id: str, since: datetime | None = None
    ) -> list[Appointment]:
        """The patient's appointments starting at or after `since` (all if None), earliest first."""
        params = [("patient", f"Patient/{patient_id}"), ("_sort", "date"), ("_count", "200")]
        if since is not None:
            params.append(("date", f"ge{utc(since)}"))
        bundle = await self._search("Appointment", params, "list appointments")
        appts = [mapping.appointment(a) for a in bundle_resources(bundle, "Appointment")]
        appts = [a for a in appts if a.patient_id == patient_id]
        await self._audit(
            subtype="search-type", patient_ids=[patient_id], query="Appointment?patient"
        )
        far = datetime.max.replace(tzinfo=timezone.utc)
        return sorted(appts, key=lambda a: a.start or far)
