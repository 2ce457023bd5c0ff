"""NEWS2 (Royal College of Physicians, 2017) over the vital signs a message reports.

Scored for adults (16 and over, or age unknown) and only when at least one of heart rate,
respiratory rate, systolic blood pressure or oxygen saturation is reported: a temperature
alone is not a set of observations. Parameters that are not reported score 0, so the
aggregate is a floor, never an all-clear. New confusion or reduced consciousness (the C, V,
P, U of ACVPU) scores 3. Oxygen saturation uses SpO2 scale 1 (scale 2 needs a clinician's
prescription for hypercapnic respiratory failure); supplemental oxygen is not read.

The engine sets two facts that rules compare (``red_flags/vital_signs.yaml``):
``news2_score`` (the aggregate) and ``news2_single_max`` (the highest single parameter).
Children are scored by the NICE NG143 thresholds written as rules on the raw facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Band = tuple[float, float, int]  # inclusive low, inclusive high, points

RESP_RATE: tuple[Band, ...] = ((0, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, 999, 3))
SPO2_SCALE_1: tuple[Band, ...] = ((0, 91, 3), (92, 93, 2), (94, 95, 1), (96, 100, 0))
SYSTOLIC: tuple[Band, ...] = (
    (0, 90, 3),
    (91, 100, 2),
    (101, 110, 1),
    (111, 219, 0),
    (220, 999, 3),
)
PULSE: tuple[Band, ...] = (
    (0, 40, 3),
    (41, 50, 1),
    (51, 90, 0),
    (91, 110, 1),
    (111, 130, 2),
    (131, 999, 3),
)
TEMPERATURE: tuple[Band, ...] = (
    (0, 35.0, 3),
    (35.1, 36.0, 1),
    (36.1, 38.0, 0),
    (38.1, 39.0, 1),
    (39.1, 99, 2),
)
BANDS: dict[str, tuple[Band, ...]] = {
    "resp_rate": RESP_RATE,
    "spo2": SPO2_SCALE_1,
    "systolic_bp": SYSTOLIC,
    "heart_rate": PULSE,
    "temperature_c": TEMPERATURE,
}
OBSERVATIONS = ("resp_rate", "spo2", "systolic_bp", "heart_rate")
CONSCIOUSNESS_FINDINGS = ("confusion", "drowsy", "unresponsive")
ADULT_AGE = 16.0


def points(parameter: str, value: float) -> int:
    """NEWS2 points for one parameter value (values between bands round to the nearer)."""
    bands = BANDS[parameter]
    rounded = round(value, 1) if parameter == "temperature_c" else round(value)
    for low, high, score in bands:
        if low <= rounded <= high:
            return score
    return 0


def score(
    facts: Mapping[str, float | str], finding: Callable[[str], bool | None]
) -> tuple[int, int] | None:
    """``(aggregate, highest single parameter)``, or None when NEWS2 does not apply."""
    age = facts.get("age_years")
    if isinstance(age, int | float) and age < ADULT_AGE:
        return None
    if not any(isinstance(facts.get(name), int | float) for name in OBSERVATIONS):
        return None
    parts = [
        points(name, float(value))
        for name in BANDS
        if isinstance(value := facts.get(name), int | float)
    ]
    if any(finding(name) for name in CONSCIOUSNESS_FINDINGS):
        parts.append(3)
    return sum(parts), max(parts, default=0)
