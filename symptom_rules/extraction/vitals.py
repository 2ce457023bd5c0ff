"""Reported vital signs: heart rate, respiratory rate, blood pressure and oxygen saturation.

Plain regular expressions, in patient, carer and clinician voice ("my heart is racing at
130", "sats 89", "RR 22, HR 118, BP 88/50", "SpO2 91% on air"). Units:

- heart rate and respiratory rate per minute ("bpm", "a minute", "/min" or none);
- blood pressure in mmHg, systolic first ("88/50"); only the systolic value is kept;
- oxygen saturation in percent ("%" optional after a saturation word).

Temperature is read by ``numbers.temperature_c`` (°F converted to °C). Each reader
returns None when nothing plausible is found; a value outside the physiological range
(heart rate 20-250, respiratory rate 4-80, systolic 50-260, saturation 50-100) is ignored.
"""

from __future__ import annotations

import re

_VALUE = r"(\d{1,3}(?:\.\d)?)"
_LINK = (
    r"(?:\s*(?:is|was|of|at|:|=|around|about|up to|over|reading|reads|now|only|down to|"
    r"went up to|hit)\s*)*\s*"
)

_HEART_RATE = re.compile(
    r"\b(?:hr|heart\s*rate|pulse(?:\s*rate)?|p|heart(?:beat)?\s+(?:is\s+|was\s+)?(?:racing|pounding|"
    r"beating|going|thumping)(?:\s+(?:at|like))?)\b" + _LINK + _VALUE + r"(?!\s*(?:/|%|°|degrees))",
    re.I,
)
_BPM = re.compile(r"(?<![\d.])" + _VALUE + r"\s*(?:bpm|beats\s*(?:per|a|/)\s*min(?:ute)?)\b", re.I)
_RESP_RATE = re.compile(
    r"\b(?:rr|resp(?:iratory)?\s*rate|resps?|respirations|breathing\s*rate|breaths?|breathing)\b"
    + _LINK
    + _VALUE
    + r"(?=\s*(?:/\s*min|per\s*min|a\s*min|breaths|times|bpm|\b(?!\s*%)))",
    re.I,
)
_BREATHS = re.compile(
    r"(?<![\d.])" + _VALUE + r"\s*(?:breaths|resps?)\s*(?:per|a|/|each)\s*min(?:ute)?\b", re.I
)
_BLOOD_PRESSURE = re.compile(
    r"\b(?:bp|blood\s*pressure)\b" + _LINK + r"(\d{2,3})\s*/\s*(\d{2,3})\b", re.I
)
_MMHG = re.compile(r"(?<![\d/])(\d{2,3})\s*/\s*(\d{2,3})\s*(?:mm\s*hg|mmhg)\b", re.I)
_SATS = re.compile(
    r"\b(?:sats?|saturations?|spo2|sp02|o2\s*sats?|o2\s*saturation|oxygen(?:\s*(?:sats?|"
    r"saturations?|levels?|level))?|pulse\s*ox(?:imeter)?(?:\s*(?:reading|says))?)\b"
    + _LINK
    + r"(\d{2,3})\s*%?",
    re.I,
)
_PERCENT_SATS = re.compile(r"(?<![\d.])(\d{2,3})\s*%\s*(?:on\s+(?:room\s+)?air|ra|sats?)\b", re.I)


def _values(patterns: tuple[re.Pattern[str], ...], text: str) -> list[float]:
    return [float(m.group(1)) for p in patterns for m in p.finditer(text)]


def heart_rate(text: str) -> float | None:
    """The highest plausible heart rate (beats per minute) reported in the text."""
    values = [v for v in _values((_HEART_RATE, _BPM), text) if 20 <= v <= 250]
    return max(values) if values else None


def resp_rate(text: str) -> float | None:
    """The highest plausible respiratory rate (breaths per minute) reported in the text."""
    values = [v for v in _values((_RESP_RATE, _BREATHS), text) if 4 <= v <= 80]
    return max(values) if values else None


def systolic_bp(text: str) -> float | None:
    """The lowest plausible systolic blood pressure (mmHg) reported in the text."""
    values = [
        float(m.group(1))
        for p in (_BLOOD_PRESSURE, _MMHG)
        for m in p.finditer(text)
        if float(m.group(1)) > float(m.group(2))
    ]
    values = [v for v in values if 50 <= v <= 260]
    return min(values) if values else None


def spo2(text: str) -> float | None:
    """The lowest plausible oxygen saturation (percent) reported in the text."""
    values = [v for v in _values((_SATS, _PERCENT_SATS), text) if 50 <= v <= 100]
    return min(values) if values else None


def blood_pressure_spans(text: str) -> list[tuple[int, int]]:
    """Where blood pressures are written, so that "88/52" is not read as 88 weeks."""
    return [m.span() for p in (_BLOOD_PRESSURE, _MMHG) for m in p.finditer(text)]


READERS = {
    "heart_rate": heart_rate,
    "resp_rate": resp_rate,
    "systolic_bp": systolic_bp,
    "spo2": spo2,
}
