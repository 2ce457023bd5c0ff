"""MedicationRequests with dispenseRequest (refills allowed / remaining, validity), some with no
refills left, some expired, controlled substances; and upcoming and past Appointments."""

from __future__ import annotations

from datetime import timedelta

from .. import codes
from .clinic import CLINICIANS, display_name
from .common import Resource, SeedContext, concept, fhir_dt, ref
from .patients import SeededPatient

# (rxnorm, display, dosage, controlled schedule, adults only)
DRUGS = [
    ("314076", "Lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily", None, True),
    (
        "860975",
        "Metformin hydrochloride 500 MG Oral Tablet",
        "Take 1 tablet twice daily with meals",
        None,
        True,
    ),
    ("617310", "Atorvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth at bedtime", None, True),
    (
        "966224",
        "Levothyroxine Sodium 0.05 MG Oral Tablet",
        "Take 1 tablet every morning",
        None,
        True,
    ),
    ("197361", "Amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily", None, True),
    (
        "745679",
        "Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
        "2 puffs every 4-6 hours as needed",
        None,
        False,
    ),
    ("312940", "Sertraline 50 MG Oral Tablet", "Take 1 tablet by mouth once daily", None, True),
    (
        "308182",
        "Amoxicillin 250 MG Oral Capsule",
        "Take 1 capsule three times daily for 10 days",
        None,
        False,
    ),
]
CONTROLLED = [
    (
        "1049621",
        "Oxycodone Hydrochloride 5 MG Oral Tablet",
        "Take 1 tablet every 6 hours as needed",
        "CII",
    ),
    (
        "308048",
        "Alprazolam 0.5 MG Oral Tablet",
        "Take 1 tablet twice daily as needed for anxiety",
        "CIV",
    ),
]


def _prescriber(ctx: SeedContext, child: bool) -> tuple[str, str]:
    pool = [c for c in CLINICIANS if (c.specialty == "394537008") == child]
    c = ctx.rng.choice(pool)
    return f"prac-{c.key}", display_name(c)


def _med_request(
    ctx: SeedContext,
    mid: str,
    p: SeededPatient,
    drug: tuple,
    *,
    months_ago: int,
    refills: int,
    remaining: int,
    schedule: str | None,
) -> Resource:
    rx, name, dosage = drug[0], drug[1], drug[2]
    authored = ctx.now - timedelta(days=30 * months_ago + ctx.rng.randint(0, 20))
    valid_end = authored + timedelta(days=365 if schedule is None else 30)
    pr_id, pr_name = _prescriber(ctx, p.age_years < 18)
    status = "active" if valid_end > ctx.now or ctx.rng.random() < 0.5 else "completed"
    res: Resource = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept(codes.RXNORM, rx, name, name),
        "subject": ref("Patient", p.id),
        "authoredOn": fhir_dt(authored),
        "requester": ref("Practitioner", pr_id, pr_name),
        "dosageInstruction": [{"text": dosage}],
        "dispenseRequest": {
            "extension": [{"url": codes.EXT_REFILLS_REMAINING, "valueUnsignedInt": remaining}],
            "validityPeriod": {"start": fhir_dt(authored), "end": fhir_dt(valid_end)},
            "numberOfRepeatsAllowed": refills,
            "quantity": {"value": 30, "unit": "tablet", "system": codes.UCUM, "code": "{tbl}"},
            "expectedSupplyDuration": {
                "value": 30,
                "unit": "days",
                "system": codes.UCUM,
                "code": "d",
            },
        },
    }
    if schedule:
        res["extension"] = [{"url": codes.EXT_CONTROLLED_SCHEDULE, "valueCode": schedule}]
    return res


def build_medications(ctx: SeedContext, patients: list[SeededPatient]) -> None:
    """Add 0-3 prescriptions per patient, with every refill situation represented."""
    n = 0
    for i, p in enumerate(patients):
        if ctx.rng.random() < 0.3:
            continue
        pool = [d for d in DRUGS if p.age_years >= 18 or not d[4]]
        for drug in ctx.rng.sample(pool, k=min(len(pool), ctx.rng.randint(1, 3))):
            n += 1
            refills = ctx.rng.choice([0, 2, 3, 5, 11])
            situation = n % 5  # 0: none left, 1: expired, else: some left
            remaining = 0 if situation == 0 or refills == 0 else ctx.rng.randint(1, refills)
            months = 14 if situation == 1 else ctx.rng.randint(1, 10)
            ctx.add(
                _med_request(
                    ctx,
                    f"mr-{n:04d}",
                    p,
                    drug,
                    months_ago=months,
                    refills=refills,
                    remaining=remaining,
                    schedule=None,
                )
            )
        if p.age_years >= 18 and i % 11 == 3:
            n += 1
            controlled = CONTROLLED[(i // 11) % len(CONTROLLED)]
            ctx.add(
                _med_request(
                    ctx,
                    f"mr-{n:04d}",
                    p,
                    controlled,
                    months_ago=0,
                    refills=0,
                    remaining=0,
                    schedule=controlled[3],
                )
            )


def build_appointments(
    ctx: SeedContext, patients: list[SeededPatient], busy: list[Resource]
) -> None:
    """Upcoming appointments on busy slots and past (fulfilled / no-show) visits."""
    by_schedule = {f"sched-{c.key}-{s}": (c, s) for c in CLINICIANS for s in c.sites}
    candidates = [s for s in busy if s["schedule"]["reference"].split("/")[1] in by_schedule]
    picks = ctx.rng.sample(candidates, k=min(len(candidates), 70))
    n = 0
    for k, slot in enumerate(picks):
        p = patients[k % len(patients)]
        c, site = by_schedule[slot["schedule"]["reference"].split("/")[1]]
        n += 1
        ctx.add(
            _appointment(
                f"appt-{n:04d}",
                "booked",
                p.id,
                c,
                site,
                slot["start"],
                slot["end"],
                [ref("Slot", slot["id"])],
            )
        )
    for k, p in enumerate(patients):
        for j in range(k % 3):
            c = CLINICIANS[(k + j) % len(CLINICIANS)]
            site = next(iter(c.sites))
            start = (ctx.now - timedelta(days=7 + 37 * j + k)).replace(
                minute=0, second=0, microsecond=0
            )
            start = start.replace(hour=10 + j)
            n += 1
            status = "noshow" if (k + j) % 13 == 0 else "fulfilled"
            ctx.add(
                _appointment(
                    f"appt-{n:04d}",
                    status,
                    p.id,
                    c,
                    site,
                    fhir_dt(start),
                    fhir_dt(start + timedelta(minutes=c.slot_minutes)),
                    [],
                )
            )


def _appointment(
    aid: str, status: str, patient_id: str, c, site: str, start: str, end: str, slots: list
) -> Resource:
    from .clinic import site_by_key

    s = site_by_key(site)
    res: Resource = {
        "resourceType": "Appointment",
        "id": aid,
        "status": status,
        "specialty": [concept(codes.SNOMED, c.specialty, codes.SPECIALTIES[c.specialty])],
        "start": start,
        "end": end,
        "description": f"{codes.SPECIALTIES[c.specialty]} visit",
        "participant": [
            {"actor": ref("Patient", patient_id), "required": "required", "status": "accepted"},
            {
                "actor": ref("Practitioner", f"prac-{c.key}", display_name(c)),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": ref("Location", f"loc-{s.key}", s.name),
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if slots:
        res["slot"] = slots
    return res
