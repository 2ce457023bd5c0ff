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


def proposed_appointment(
    *, patient_id: str, start: str, end: str, specialty: str | None, reason: str | None
) -> dict[str, Any]:
    """A patient's request for a time nobody could offer: status `proposed` with the period
    they asked for (no start or end until the clinic books it: R4 invariant app-3)."""
    out: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "proposed",
        "created": now_iso()[:10],
        "requestedPeriod": [{"start": start, "end": end}],
        "participant": [
            {"actor": ref("Patient", patient_id), "required": "required", "status": "accepted"}
        ],
    }
    if specialty:
        out["specialty"] = [{"text": specialty}]
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
    *,
    medication_request: dict[str, Any],
    patient_id: str,
    note: str | None,
    pharmacy: str | None = None,
    review_reason: str | None = None,
) -> dict[str, Any]:
    """The R4 "Refill Request" Task.

    focus = MedicationRequest, for/requester = Patient, owner = the prescriber. With a
    `review_reason` the Task carries the needs-prescriber-review businessStatus and the reason
    as a note, so the prescriber's worklist shows it is a decision, not a routine refill.
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
    notes = [note[:1000]] if note else []
    if review_reason:
        task["businessStatus"] = {
            "coding": [
                {"system": codes.TASK_BUSINESS_STATUS_SYSTEM, "code": codes.TASK_NEEDS_REVIEW}
            ],
            "text": "Needs prescriber review",
        }
        notes.append(f"Needs prescriber review: {review_reason[:500]}")
    if notes:
        task["note"] = [{"text": text} for text in notes]
    if pharmacy:
        task["input"] = [
            {
                "type": {
                    "coding": [
                        {"system": codes.TASK_INPUT_SYSTEM, "code": codes.TASK_INPUT_PHARMACY}
                    ],
                    "text": "Preferred pharmacy",
                },
                "valueString": pharmacy[:200],
            }
        ]
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


def appointment_response(*, appointment_id: str, patient_id: str) -> dict[str, Any]:
    """The patient's AppointmentResponse confirming they will attend (a reply to a reminder)."""
    return {
        "resourceType": "AppointmentResponse",
        "appointment": ref("Appointment", appointment_id),
        "actor": ref("Patient", patient_id),
        "participantStatus": "accepted",
        "comment": "Attendance confirmed by the patient in reply to a reminder",
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


DICOM = "http://dicom.nema.org/resources/ontology/DCM"


def assistant_audit_event(
    *, agent: str, action: str, succeeded: bool, patient_id: str | None
) -> dict[str, Any]:
    """An AuditEvent for something the assistant did outside a FHIR interaction.

    `identity.*` actions (verification attempts, log-outs) are DICOM "User Authentication"
    events; anything else is recorded as an execute of `action`. A failed attempt names no
    patient when none was matched, so the EHR's trail never says who was guessed at.
    """
    if action.startswith("identity."):
        logout = action in ("identity.end", "identity.logout")
        kind = {"system": DICOM, "code": "110114", "display": "User Authentication"}
        sub = {"system": DICOM, "code": "110123" if logout else "110122"}
        sub["display"] = "Logout" if logout else "Login"
    else:
        kind = {"system": codes.AUDIT_TYPE_SYSTEM, "code": "rest", "display": "Restful Operation"}
        sub = {"system": codes.RESTFUL_INTERACTION, "code": "operation"}
    entities: list[dict[str, Any]] = [
        {"description": action[:1000], "type": {"system": _ENTITY_TYPE, "code": "2"}}
    ]
    if patient_id:
        entities.insert(
            0,
            {
                "what": ref("Patient", patient_id),
                "type": {"system": _ENTITY_TYPE, "code": "1"},
                "role": {
                    "system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1",
                },
            },
        )
    return {
        "resourceType": "AuditEvent",
        "type": kind,
        "subtype": [sub],
        "action": "E",
        "recorded": now_iso(),
        "outcome": "0" if succeeded else "4",
        "agent": [{"who": {"display": agent}, "name": agent, "requestor": True}],
        "source": {"observer": {"display": agent}},
        "entity": entities,
    }


_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
