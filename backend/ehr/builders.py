"""JSON builders for the resources the port writes (valid R4, checked by fhirclient in tests)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from . import codes

AUDIT_ACTIONS = {"read": "R", "vread": "R", "search-type": "E", "create": "C", "update": "U"}


def now_iso() -> str:
    """Current instant in UTC, FHIR `instant` format."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso(value: datetime) -> str:
    """A timezone-aware datetime as a FHIR dateTime (UTC becomes Z)."""
    if value.tzinfo is None:
        raise ValueError("datetimes sent to the EHR must be timezone-aware")
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def ref(rtype: str, rid: str, display: str | None = None) -> dict[str, str]:
    """A literal Reference."""
    out = {"reference": f"{rtype}/{rid}"}
    if display:
        out["display"] = display
    return out


def appointment(
    *,
    slot: dict[str, Any],
    schedule: dict[str, Any],
    patient_id: str,
    reason: str | None,
) -> dict[str, Any]:
    """A booked Appointment for the slot, participants taken from the Schedule's actors."""
    participants: list[dict[str, Any]] = [
        {"actor": ref("Patient", patient_id), "required": "required", "status": "accepted"}
    ]
    for actor in schedule.get("actor", []):
        participants.append({"actor": dict(actor), "required": "required", "status": "accepted"})
    out: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": slot["start"],
        "end": slot["end"],
        "created": now_iso()[:10],
        "slot": [ref("Slot", slot["id"])],
        "participant": participants,
    }
    spec = slot.get("specialty") or schedule.get("specialty")
    if spec:
        out["specialty"] = spec
    if slot.get("serviceType"):
        out["serviceType"] = slot["serviceType"]
    if reason:
        out["description"] = reason[:500]
        out["reasonCode"] = [{"text": reason[:500]}]
    return out


def appointment_participants_from(
    schedule: dict[str, Any], patient_ref: dict[str, Any]
) -> list[dict[str, Any]]:
    """Participants of a moved appointment: the patient plus the new schedule's actors."""
    out: list[dict[str, Any]] = [
        {"actor": dict(patient_ref), "required": "required", "status": "accepted"}
    ]
    for actor in schedule.get("actor", []):
        out.append({"actor": dict(actor), "required": "required", "status": "accepted"})
    return out


def audit_event(
    *,
    agent: str,
    subtype: str,
    patient_ids: list[str],
    query: str | None,
    outcome: str = "0",
) -> dict[str, Any]:
    """An AuditEvent for a read, search, create or update of patient data by the assistant.

    `subtype` is the RESTful interaction (`read`, `search-type`, `create`, `update`).
    """
    entities: list[dict[str, Any]] = [
        {
            "what": ref("Patient", pid),
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
            },
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
        }
        for pid in patient_ids
    ]
    if query:
        entities.append(
            {
                "description": query[:1000],
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "2",
                },
            }
        )
    return {
        "resourceType": "AuditEvent",
        "type": {"system": codes.AUDIT_TYPE_SYSTEM, "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": codes.RESTFUL_INTERACTION, "code": subtype}],
        "action": AUDIT_ACTIONS.get(subtype, "E"),
        "recorded": now_iso(),
        "outcome": outcome,
        "agent": [{"who": {"display": agent}, "name": agent, "requestor": True}],
        "source": {"observer": {"display": agent}},
        "entity": entities,
    }


def refill_task(
    *, medication_request: dict[str, Any], patient_id: str, note: str | None
) -> dict[str, Any]:
    """The R4 "Refill Request" Task.

    focus = MedicationRequest, for/requester = Patient, owner = the prescriber.
    """
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [{"system": codes.TASK_CODE_SYSTEM, "code": codes.TASK_CODE_REFILL}],
            "text": "Refill Request",
        },
        "focus": ref("MedicationRequest", medication_request["id"]),
        "for": ref("Patient", patient_id),
        "authoredOn": now_iso(),
        "lastModified": now_iso(),
        "requester": ref("Patient", patient_id),
    }
    requester = medication_request.get("requester")
    if isinstance(requester, dict) and requester.get("reference"):
        task["owner"] = dict(requester)
    if note:
        task["note"] = [{"text": note[:1000]}]
    return task


def communication(*, patient_id: str, text: str, category: str) -> dict[str, Any]:
    """A completed Communication recording a message to or about the patient."""
    return {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"text": category}],
        "subject": ref("Patient", patient_id),
        "sent": now_iso(),
        "payload": [{"contentString": text}],
    }


def flag(*, patient_id: str, text: str, category: str) -> dict[str, Any]:
    """An active Flag on the patient's record."""
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"text": text[:500]},
        "subject": ref("Patient", patient_id),
        "period": {"start": now_iso()},
    }


def escalation_task(
    *, patient_id: str, description: str, priority: str, owner_reference: str | None
) -> dict[str, Any]:
    """A Task asking clinic staff to follow up a conversation."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [{"system": codes.TASK_CODE_SYSTEM, "code": "follow-up"}],
            "text": "Follow up patient conversation",
        },
        "description": description[:1000],
        "for": ref("Patient", patient_id),
        "requester": {"display": "patient-assistant"},
        "authoredOn": now_iso(),
        "lastModified": now_iso(),
    }
    if owner_reference:
        task["owner"] = {"reference": owner_reference}
    return task
