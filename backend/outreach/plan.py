"""What outreach a patient is due, read from the EHR: the one source of truth for jobs.

The periodic sync turns this plan into scheduler jobs, and the dispatcher re-reads it right
before sending, so a message about an appointment that was moved or cancelled, or a refill
that was already requested, is never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.ehr import Ehr
from backend.ehr.domain import Appointment, LabReport, Medication, RefillTask

from .kinds import CHECKIN, REFILL, REMINDER, RESULTS, OutreachConfig
from .rules import local_moment, parse_clock

# How far back the plan looks: check-ins for yesterday's visits, notices for recent reports.
LOOKBACK = timedelta(days=3)
RESULTS_FRESH_FOR = timedelta(days=7)
CHECKIN_VALID_FOR = timedelta(days=1)
OPEN_REFILL = frozenset({"draft", "requested", "received", "accepted", "in-progress", "ready"})
UPCOMING = frozenset({"booked"})
VISITED = frozenset({"booked", "arrived", "checked-in", "fulfilled"})


@dataclass(frozen=True)
class Planned:
    """One message a patient is due: when, until when it still makes sense, and with what."""

    job_id: str
    kind: str
    patient_hash: str
    occurrence: str  # what the message is about, e.g. the appointment's start
    due: datetime
    expires: datetime
    entities: dict[str, str] = field(default_factory=dict)

    @property
    def outbox_key(self) -> str:
        return f"{self.job_id}@{self.occurrence}"


async def plan_for_patient(
    *,
    ehr: Ehr,
    patient_id: str,
    patient_hash: str,
    zone: ZoneInfo,
    config: OutreachConfig,
    now: datetime,
) -> list[Planned]:
    """Every message this patient is due and that still makes sense at `now`."""
    appointments = await ehr.list_appointments(patient_id=patient_id, since=now - LOOKBACK)
    reports = await ehr.released_lab_reports(patient_id=patient_id, since=now - RESULTS_FRESH_FOR)
    medications = await ehr.medication_requests(patient_id=patient_id, active_only=True)
    tasks = await ehr.refill_tasks(patient_id=patient_id) if medications else []
    planned = [
        *_appointment_messages(appointments, patient_hash, zone, config),
        *_results_messages(reports, patient_hash),
        *_refill_messages(medications, tasks, patient_hash, config),
    ]
    return sorted((p for p in planned if now < p.expires), key=lambda p: p.due)


def _appointment_messages(
    appointments: list[Appointment], patient_hash: str, zone: ZoneInfo, config: OutreachConfig
) -> list[Planned]:
    out: list[Planned] = []
    for appt in appointments:
        if appt.start is None:
            continue
        start = appt.start.astimezone(UTC)
        occurrence = start.isoformat()
        if appt.status in UPCOMING:
            entities = {
                "appointment_id": appt.id,
                "appointment_time": _spoken(start, zone),
                "clinician_name": appt.practitioner_name or "",
                "clinic_name": appt.location_name or "",
            }
            for lead in config.reminder_leads_h:
                out.append(
                    Planned(
                        job_id=f"reminder:{appt.id}:{lead:g}h",
                        kind=REMINDER,
                        patient_hash=patient_hash,
                        occurrence=occurrence,
                        due=start - timedelta(hours=lead),
                        expires=start,  # never remind of an appointment that has begun
                        entities=entities,
                    )
                )
        if appt.status in VISITED:
            due = local_moment(1, start, parse_clock(config.checkin_at), zone)
            out.append(
                Planned(
                    job_id=f"checkin:{appt.id}",
                    kind=CHECKIN,
                    patient_hash=patient_hash,
                    occurrence=occurrence,
                    due=due,
                    expires=due + CHECKIN_VALID_FOR,
                    entities={"appointment_id": appt.id},
                )
            )
    return out


def _results_messages(reports: list[LabReport], patient_hash: str) -> list[Planned]:
    out: list[Planned] = []
    for report in reports:
        released = report.issued or report.effective
        if released is None:
            continue
        released = released.astimezone(UTC)
        # Minimum necessary: the notice says results are ready, never what they are.
        out.append(
            Planned(
                job_id=f"results:{report.id}",
                kind=RESULTS,
                patient_hash=patient_hash,
                occurrence=released.isoformat(),
                due=released,
                expires=released + RESULTS_FRESH_FOR,
            )
        )
    return out


def supply_runs_out(medication: Medication) -> datetime | None:
    """When the current fill ends: authored + one supply per fill dispensed so far.

    The EHR records fills as refills used (allowed - remaining); the first fill comes with
    the prescription itself.
    """
    if medication.authored_on is None or not medication.supply_days:
        return None
    allowed = medication.refills_allowed or 0
    remaining = medication.refills_remaining if medication.refills_remaining is not None else 0
    fills = 1 + max(0, allowed - remaining)
    return medication.authored_on.astimezone(UTC) + timedelta(days=medication.supply_days * fills)


def _refill_messages(
    medications: list[Medication],
    tasks: list[RefillTask],
    patient_hash: str,
    config: OutreachConfig,
) -> list[Planned]:
    requested = {t.medication_request_id for t in tasks if t.status in OPEN_REFILL}
    out: list[Planned] = []
    for med in medications:
        runs_out = supply_runs_out(med)
        if runs_out is None or med.id in requested or med.controlled_schedule:
            continue  # controlled substances are refilled by the prescriber, not nudged
        out.append(
            Planned(
                job_id=f"refill:{med.id}",
                kind=REFILL,
                patient_hash=patient_hash,
                occurrence=runs_out.isoformat(),
                due=runs_out - timedelta(days=config.refill_days_before),
                expires=runs_out,
                # No medication name: a text on a shared phone should not say what one takes.
                entities={"medication_request_id": med.id},
            )
        )
    return out


def _spoken(moment: datetime, zone: ZoneInfo) -> str:
    """'Tuesday 24 November at 10:30', in the patient's own time zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"
