"""Lab results of the last 90 days: DiagnosticReports with Observations carrying values, units,
reference ranges and interpretation flags (normal, abnormal, a few critical; some preliminary)."""

from __future__ import annotations

from datetime import timedelta

from .. import codes
from .common import SeedContext, concept, fhir_dt, ref
from .lab_panels import PANELS, Analyte
from .patients import SeededPatient

CRITICAL_PLAN = {  # report index -> (analyte loinc, value) for the few deliberate critical values
    3: ("2823-3", 6.8),
    11: ("718-7", 6.4),
    20: ("2345-7", 38.0),
}


def _value(ctx: SeedContext, a: Analyte, abnormal: bool) -> float:
    span = a.high - a.low
    if not abnormal:
        v = ctx.rng.uniform(a.low + 0.1 * span, a.high - 0.1 * span)
    elif ctx.rng.random() < 0.6:
        v = a.high + ctx.rng.uniform(0.05, 0.4) * span
    else:
        v = max(a.low - ctx.rng.uniform(0.05, 0.3) * span, 0.0)
    return round(v, a.decimals)


def _flag(a: Analyte, v: float) -> tuple[str, str]:
    if a.crit_high is not None and v >= a.crit_high:
        return "HH", "Critical high"
    if a.crit_low is not None and v <= a.crit_low:
        return "LL", "Critical low"
    if v > a.high:
        return "H", "High"
    if v < a.low:
        return "L", "Low"
    return "N", "Normal"


def build_labs(
    ctx: SeedContext, patients: list[SeededPatient], practitioner_id: str = "prac-01"
) -> None:
    """Add 1-3 lab reports for most patients over the last 90 days."""
    report_no = 0
    lab_cat = concept(codes.V2_0074, "LAB", "Laboratory")
    obs_cat = concept(codes.OBS_CATEGORY, "laboratory", "Laboratory")
    for p in patients:
        skipped = ctx.rng.random() < 0.2  # drawn for every patient: one's age shifts no other's
        if p.age_years < 1 or skipped:
            continue
        for _ in range(ctx.rng.randint(1, 3)):
            report_no += 1
            panel_code = ctx.rng.choice(list(PANELS))
            if report_no in CRITICAL_PLAN:  # the panel that holds the planned critical value
                loinc = CRITICAL_PLAN[report_no][0]
                panel_code = next(
                    k for k, (_, an) in PANELS.items() if any(a.loinc == loinc for a in an)
                )
            panel_name, analytes = PANELS[panel_code]
            when = ctx.now - timedelta(days=ctx.rng.randint(1, 88), hours=ctx.rng.randint(0, 8))
            issued = when + timedelta(hours=ctx.rng.randint(4, 30))
            preliminary = report_no % 9 == 4
            if issued > ctx.now:
                issued, preliminary = ctx.now, True
            status = "preliminary" if preliminary else "final"
            abnormal = ctx.rng.random() < 0.35
            rid = f"dr-{report_no:04d}"
            results = []
            for j, a in enumerate(analytes):
                v = _value(ctx, a, abnormal and ctx.rng.random() < 0.6)
                crit = CRITICAL_PLAN.get(report_no)
                if crit and crit[0] == a.loinc:
                    v = crit[1]
                code, display = _flag(a, v)
                oid = f"obs-{report_no:04d}-{j}"
                ctx.add(
                    {
                        "resourceType": "Observation",
                        "id": oid,
                        "status": status,
                        "category": [obs_cat],
                        "code": concept(codes.LOINC, a.loinc, a.name, a.name),
                        "subject": ref("Patient", p.id),
                        "effectiveDateTime": fhir_dt(when),
                        "issued": fhir_dt(issued),
                        "valueQuantity": {
                            "value": v,
                            "unit": a.unit,
                            "system": codes.UCUM,
                            "code": a.unit,
                        },
                        "interpretation": [concept(codes.V3_INTERPRETATION, code, display)],
                        "referenceRange": [
                            {
                                "low": {
                                    "value": a.low,
                                    "unit": a.unit,
                                    "system": codes.UCUM,
                                    "code": a.unit,
                                },
                                "high": {
                                    "value": a.high,
                                    "unit": a.unit,
                                    "system": codes.UCUM,
                                    "code": a.unit,
                                },
                            }
                        ],
                    }
                )
                results.append(ref("Observation", oid, a.name))
            if panel_code == "24356-8":
                oid = f"obs-{report_no:04d}-p"
                ctx.add(
                    {
                        "resourceType": "Observation",
                        "id": oid,
                        "status": status,
                        "category": [obs_cat],
                        "code": concept(
                            codes.LOINC, "20454-5", "Protein [Presence] in Urine by Test strip"
                        ),
                        "subject": ref("Patient", p.id),
                        "effectiveDateTime": fhir_dt(when),
                        "valueCodeableConcept": concept(
                            codes.SNOMED, "260385009", "Negative", "Negative"
                        ),
                        "interpretation": [concept(codes.V3_INTERPRETATION, "N", "Normal")],
                    }
                )
                results.append(ref("Observation", oid, "Protein in urine"))
            ctx.add(
                {
                    "resourceType": "DiagnosticReport",
                    "id": rid,
                    "status": status,
                    "category": [lab_cat],
                    "code": concept(codes.LOINC, panel_code, panel_name, panel_name),
                    "subject": ref("Patient", p.id),
                    "effectiveDateTime": fhir_dt(when),
                    "issued": fhir_dt(issued),
                    "performer": [
                        ref(
                            "Organization", "org-riverside", "Riverside Community Health Laboratory"
                        )
                    ],
                    "resultsInterpreter": [ref("Practitioner", practitioner_id)],
                    "result": results,
                }
            )
