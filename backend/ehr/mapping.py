"""From fhirclient R4 models to the port's domain objects."""

from __future__ import annotations

from typing import Any

from . import codes
from .domain import (
    Appointment,
    Clinic,
    Contact,
    FreeSlot,
    LabReport,
    LabResult,
    Medication,
    PatientSummary,
    RefillTask,
)
from .parse import (
    concept_text,
    day,
    dt,
    extension_value,
    first_coding_code,
    ref_id,
    ref_type,
)


def _human_name(names: Any) -> tuple[str, str]:
    if not names:
        return "", ""
    name = next((n for n in names if n.use in (None, "official", "usual")), names[0])
    given = " ".join(name.given or [])
    family = name.family or ""
    if not given and not family and name.text:
        return name.text, ""
    return given, family


def _phones(telecom: Any) -> tuple[str, ...]:
    return tuple(t.value for t in telecom or [] if t.system == "phone" and t.value)


def patient_summary(p: Any) -> PatientSummary:
    """PatientSummary from a Patient model."""
    given, family = _human_name(p.name)
    mrn = None
    for ident in p.identifier or []:
        if ident.system == codes.MRN_SYSTEM or first_coding_code(ident.type, codes.V2_0203) == "MR":
            mrn = ident.value
            break
    language = None
    comms = p.communication or []
    preferred = next((c for c in comms if c.preferred), comms[0] if comms else None)
    if preferred is not None:
        language = first_coding_code(preferred.language) or concept_text(preferred.language) or None
    contacts = []
    for c in p.contact or []:
        cg, cf = _human_name([c.name] if c.name else [])
        rel = concept_text(c.relationship[0]) if c.relationship else ""
        phones = _phones(c.telecom)
        contacts.append(Contact(f"{cg} {cf}".strip(), rel, phones[0] if phones else None))
    return PatientSummary(
        id=p.id,
        given=given,
        family=family,
        birth_date=day(p.birthDate),
        gender=p.gender,
        mrn=mrn,
        phones=_phones(p.telecom),
        language=language,
        contacts=tuple(contacts),
    )


def schedule_actors(schedule: Any) -> dict[str, tuple[str | None, str | None]]:
    """Map of actor type -> (id, display) for a Schedule."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for a in schedule.actor or []:
        t = ref_type(a)
        if t and t not in out:
            out[t] = (ref_id(a), a.display)
    return out


def free_slot(slot: Any, schedule: Any | None) -> FreeSlot:
    """FreeSlot from a Slot and (if known) its Schedule."""
    actors = schedule_actors(schedule) if schedule is not None else {}
    spec_concept = (
        slot.specialty or (schedule.specialty if schedule is not None else None) or [None]
    )[0]
    spec = first_coding_code(spec_concept, codes.SNOMED) or first_coding_code(spec_concept)
    pr_id, pr_name = actors.get("Practitioner", (None, None))
    loc_id, loc_name = actors.get("Location", (None, None))
    return FreeSlot(
        id=slot.id,
        start=dt(slot.start),  # type: ignore[arg-type]  # required by the model
        end=dt(slot.end),  # type: ignore[arg-type]
        schedule_id=ref_id(slot.schedule, "Schedule") or "",
        specialty=spec,
        specialty_display=concept_text(spec_concept) or codes.SPECIALTIES.get(spec or "") or None,
        practitioner_id=pr_id,
        practitioner_name=pr_name,
        location_id=loc_id,
        location_name=loc_name,
    )


def appointment(a: Any) -> Appointment:
    """Appointment from an Appointment model."""
    patient_id = pr_id = pr_name = loc_id = loc_name = None
    for part in a.participant or []:
        t = ref_type(part.actor) if part.actor else None
        if t == "Patient" and patient_id is None:
            patient_id = ref_id(part.actor)
        elif t == "Practitioner" and pr_id is None:
            pr_id, pr_name = ref_id(part.actor), part.actor.display
        elif t == "Location" and loc_id is None:
            loc_id, loc_name = ref_id(part.actor), part.actor.display
    return Appointment(
        id=a.id,
        status=a.status,
        start=dt(a.start),
        end=dt(a.end),
        patient_id=patient_id,
        slot_ids=tuple(s for s in (ref_id(r, "Slot") for r in a.slot or []) if s),
        practitioner_id=pr_id,
        practitioner_name=pr_name,
        location_id=loc_id,
        location_name=loc_name,
        description=a.description,
        version=a.meta.versionId if a.meta else None,
    )


def lab_result(o: Any) -> LabResult:
    """LabResult from an Observation model."""
    value = unit = value_text = None
    if o.valueQuantity is not None:
        value, unit = o.valueQuantity.value, o.valueQuantity.unit or o.valueQuantity.code
    elif o.valueString is not None:
        value_text = o.valueString
    elif o.valueCodeableConcept is not None:
        value_text = concept_text(o.valueCodeableConcept)
    low = high = ref_text = None
    if o.referenceRange:
        rr = o.referenceRange[0]
        low = rr.low.value if rr.low else None
        high = rr.high.value if rr.high else None
        ref_text = rr.text
    interp = first_coding_code(o.interpretation[0]) if o.interpretation else None
    return LabResult(
        id=o.id,
        code=first_coding_code(o.code, codes.LOINC) or first_coding_code(o.code),
        name=concept_text(o.code, "result"),
        value=float(value) if value is not None else None,
        value_text=value_text,
        unit=unit,
        low=float(low) if low is not None else None,
        high=float(high) if high is not None else None,
        reference_text=ref_text,
        interpretation=interp,
        status=o.status,
    )


def lab_report(r: Any, observations: dict[str, Any]) -> LabReport:
    """LabReport from a DiagnosticReport and its Observations (by id); unreleased ones dropped."""
    results = []
    for ref in r.result or []:
        o = observations.get(ref_id(ref, "Observation") or "")
        if o is not None and o.status in codes.RELEASED_OBSERVATION_STATUSES:
            results.append(lab_result(o))
    return LabReport(
        id=r.id,
        code=first_coding_code(r.code, codes.LOINC) or first_coding_code(r.code),
        name=concept_text(r.code, "lab report"),
        status=r.status,
        issued=dt(r.issued),
        effective=dt(r.effectiveDateTime)
        or (dt(r.effectivePeriod.start) if r.effectivePeriod else None),
        conclusion=r.conclusion,
        results=tuple(results),
    )


def medication(m: Any) -> Medication:
    """Medication from a MedicationRequest model."""
    dr = m.dispenseRequest
    allowed = dr.numberOfRepeatsAllowed if dr else None
    remaining = extension_value(dr, codes.EXT_REFILLS_REMAINING) if dr else None
    valid_until = day(dr.validityPeriod.end) if dr and dr.validityPeriod else None
    dosage = m.dosageInstruction[0].text if m.dosageInstruction else None
    return Medication(
        id=m.id,
        name=concept_text(m.medicationCodeableConcept)
        or (m.medicationReference.display if m.medicationReference else None)
        or "medication",
        code=first_coding_code(m.medicationCodeableConcept)
        if m.medicationCodeableConcept
        else None,
        status=m.status,
        patient_id=ref_id(m.subject, "Patient"),
        prescriber_id=ref_id(m.requester, "Practitioner") if m.requester else None,
        prescriber_name=m.requester.display if m.requester else None,
        authored_on=dt(m.authoredOn),
        refills_allowed=allowed,
        refills_remaining=int(remaining) if remaining is not None else allowed,
        valid_until=valid_until,
        controlled_schedule=extension_value(m, codes.EXT_CONTROLLED_SCHEDULE),
        dosage=dosage,
        supply_days=_supply_days(dr),
    )


def _supply_days(dispense: Any) -> int | None:
    """expectedSupplyDuration in whole days (days or weeks; None for any other unit)."""
    duration = dispense.expectedSupplyDuration if dispense else None
    if duration is None or duration.value is None:
        return None
    per_unit = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7}
    factor = per_unit.get(duration.code or duration.unit or "")
    return int(duration.value * factor) if factor else None


def refill_task(t: Any) -> RefillTask:
    """RefillTask from a Task model."""
    return RefillTask(
        id=t.id,
        status=t.status,
        medication_request_id=ref_id(t.focus, "MedicationRequest") or "",
        patient_id=ref_id(t.for_fhir, "Patient") if t.for_fhir else None,
        owner_id=ref_id(t.owner) if t.owner else None,
        authored_on=dt(t.authoredOn),
        note=t.note[0].text if t.note else None,
        requester_id=ref_id(t.requester, "Patient") if t.requester else None,
        needs_review=first_coding_code(t.businessStatus, codes.TASK_BUSINESS_STATUS_SYSTEM)
        == codes.TASK_NEEDS_REVIEW,
        pharmacy=next(
            (
                i.valueString
                for i in t.input or []
                if first_coding_code(i.type, codes.TASK_INPUT_SYSTEM) == codes.TASK_INPUT_PHARMACY
            ),
            None,
        ),
    )


def clinic(loc: Any) -> Clinic:
    """Clinic from a Location model."""
    addr = ""
    if loc.address:
        a = loc.address
        addr = a.text or ", ".join(x for x in [*(a.line or []), a.city, a.state, a.postalCode] if x)
    phones = _phones(loc.telecom)
    hours = "; ".join(
        f"{'/'.join(h.daysOfWeek or [])} {h.openingTime.isostring if h.openingTime else ''}-"
        f"{h.closingTime.isostring if h.closingTime else ''}"
        for h in loc.hoursOfOperation or []
        if not h.allDay
    )
    tz = extension_value(loc, codes.EXT_TIMEZONE) or "America/New_York"
    return Clinic(
        id=loc.id,
        name=loc.name or loc.id,
        address=addr,
        phone=phones[0] if phones else None,
        timezone=tz,
        hours=hours,
        organization_id=ref_id(loc.managingOrganization, "Organization")
        if loc.managingOrganization
        else None,
    )
