"""How one lab value is put in plain language: never a diagnosis, always the usual range.

Pure functions over `LabResult`; the thresholds for "slightly" and "well" are a fraction of
the width of the reference range, so they mean the same for sodium as for cholesterol.
"""

from __future__ import annotations

from enum import StrEnum

from backend.ehr.domain import LabResult

from .critical_limits import outside_critical_limits

# Beyond the range by at most this fraction of its width is "slightly"; beyond by more than
# WELL_BEYOND is "well". In between, plainly above or below.
SLIGHTLY_BEYOND = 0.1
WELL_BEYOND = 0.5
CRITICAL_CODES = frozenset({"HH", "LL", "AA", "critical"})
HIGH_CODES = frozenset({"H", "HU", ">"})
LOW_CODES = frozenset({"L", "LU", "<"})
ABNORMAL_CODES = frozenset({"A"})


class Flag(StrEnum):
    """Where a value stands against its reference range."""

    NORMAL = "normal"
    HIGH = "high"
    LOW = "low"
    ABNORMAL = "abnormal"  # outside the range, direction not given (e.g. a positive test)
    CRITICAL = "critical"
    UNKNOWN = "unknown"  # no range and no interpretation to compare with


def flag(result: LabResult) -> Flag:
    """The result's flag: the lab's interpretation first, then the numbers."""
    code = result.interpretation
    if code in CRITICAL_CODES or outside_critical_limits(result.code, result.value, result.unit):
        return Flag.CRITICAL
    if code in HIGH_CODES:
        return Flag.HIGH
    if code in LOW_CODES:
        return Flag.LOW
    if code in ABNORMAL_CODES:
        return Flag.ABNORMAL
    if result.value is not None:
        if result.high is not None and result.value > result.high:
            return Flag.HIGH
        if result.low is not None and result.value < result.low:
            return Flag.LOW
        if result.low is not None or result.high is not None:
            return Flag.NORMAL
    return Flag.NORMAL if code == "N" else Flag.UNKNOWN


def _number(value: float) -> str:
    return f"{value:g}"


def value_text(result: LabResult) -> str:
    """`6.1 mmol/L`, or the text value (`Negative`), or `no value reported`."""
    if result.value is not None:
        unit = f" {result.unit}" if result.unit and not result.unit.startswith("{") else ""
        return f"{_number(result.value)}{unit}"
    return result.value_text or "no value reported"


def range_text(result: LabResult) -> str | None:
    """`usual range 3.5-5.1`, `usual range below 200`, or the lab's own text; None if none."""
    if result.low is not None and result.high is not None:
        return f"usual range {_number(result.low)}-{_number(result.high)}"
    if result.high is not None:
        return f"usual range up to {_number(result.high)}"
    if result.low is not None:
        return f"usual range from {_number(result.low)}"
    if result.reference_text:
        return f"usual range {result.reference_text}"
    return None


def _degree(result: LabResult, beyond: float) -> str:
    """ "slightly", "" or "well", from how far past the range the value is."""
    if result.low is None or result.high is None or result.high <= result.low:
        return ""
    share = beyond / (result.high - result.low)
    if share <= SLIGHTLY_BEYOND:
        return "slightly "
    if share > WELL_BEYOND:
        return "well "
    return ""


def standing_text(result: LabResult, result_flag: Flag) -> str:
    """The plain-language verdict of one value against its usual range."""
    if result_flag is Flag.NORMAL:
        return "within the usual range"
    if result_flag is Flag.HIGH:
        if result.value is not None and result.high is not None:
            return f"{_degree(result, result.value - result.high)}above the usual range"
        return "above the usual range"
    if result_flag is Flag.LOW:
        if result.value is not None and result.low is not None:
            return f"{_degree(result, result.low - result.value)}below the usual range"
        return "below the usual range"
    if result_flag is Flag.ABNORMAL:
        return "outside the usual result"
    return "no usual range was given to compare it with"


def result_line(result: LabResult) -> str:
    """`- Potassium: 5.3 mmol/L (usual range 3.5-5.1): slightly above the usual range`."""
    result_flag = flag(result)
    usual = range_text(result)
    shown = f"{value_text(result)} ({usual})" if usual else value_text(result)
    return f"- {short_name(result.name)}: {shown}: {standing_text(result, result_flag)}"


def short_name(name: str) -> str:
    """A LOINC long name without its bracketed property: `Potassium [Moles/volume] in Serum`
    reads `Potassium in Serum`."""
    out, depth = [], 0
    for char in name:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(char)
    return " ".join("".join(out).split()) or name


ALL_USUAL = (
    "What this means: all of these are within the usual range. Your clinician will let you "
    "know if anything needs follow-up."
)
SOME_OUTSIDE = (
    "What this means: a value outside the usual range is common and does not by itself mean "
    "something is wrong; your clinician reads results together with your health and history. "
    "What to do next: if you were asked to follow up, or you have questions about these "
    "results, book an appointment or ask to talk to the care team. I can't interpret results "
    "for you."
)
