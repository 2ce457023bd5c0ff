"""Critical (panic) limits for common lab tests, as reviewed data.

A released result outside these limits is never told to the patient by the assistant, even
when the lab did not flag it HH/LL: a clinician calls instead. The limits follow the commonly
published adult critical-value lists (e.g. the CAP survey of critical limits, Dighe et al.,
Am J Clin Pathol 2006) and lean towards caution; a clinic can replace this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CriticalLimit:
    """Values below `low` or above `high` (in `unit`) are critical."""

    name: str
    unit: str
    low: float | None
    high: float | None


# LOINC code -> limits. Units are the UCUM units the clinic's lab reports in; a result in
# another unit is not compared (the lab's own HH/LL flag still applies).
CRITICAL_LIMITS: dict[str, CriticalLimit] = {
    "2823-3": CriticalLimit("Potassium", "mmol/L", 2.8, 6.2),
    "2951-2": CriticalLimit("Sodium", "mmol/L", 120.0, 160.0),
    "2345-7": CriticalLimit("Glucose", "mg/dL", 40.0, 450.0),
    "718-7": CriticalLimit("Hemoglobin", "g/dL", 7.0, 20.0),
    "777-3": CriticalLimit("Platelets", "10*3/uL", 20.0, 1000.0),
    "6690-2": CriticalLimit("White blood cells", "10*3/uL", 2.0, 30.0),
    "17861-6": CriticalLimit("Calcium", "mg/dL", 6.0, 13.0),
    "2160-0": CriticalLimit("Creatinine", "mg/dL", None, 7.4),
    "6301-6": CriticalLimit("INR", "{INR}", None, 5.0),
}


def outside_critical_limits(code: str | None, value: float | None, unit: str | None) -> bool:
    """True when the value is beyond the test's critical limit (same unit only)."""
    if code is None or value is None:
        return False
    limit = CRITICAL_LIMITS.get(code)
    if limit is None or (unit is not None and unit != limit.unit):
        return False
    return (limit.low is not None and value < limit.low) or (
        limit.high is not None and value > limit.high
    )
