"""Reported vital signs: heart rate, respiratory rate, blood pressure and oxygen saturation,
and the diabetes readings blood glucose and blood ketones.

Plain regular expressions, in patient, carer and clinician voice ("my heart is racing at
130", "sats 89", "o2 89%", "oxygen keeps reading 85", "RR 22, HR 118, BP 88/50", "SpO2 91%
on air", "sugar 2.1", "ketones 3.5"). Units:

- heart rate and respiratory rate per minute ("bpm", "a minute", "/min" or none); a heart
  rate said to be during exercise ("hit 160 on my run", "HR 150 at the gym") is not a resting
  observation and is not read;
- blood pressure in mmHg, systolic first ("88/50"); the reading with the lowest systolic
  is kept, systolic and diastolic;
- oxygen saturation in percent ("%" optional after a saturation word);
- blood glucose in mmol/L (a value over 35 is read only with "mg/dL" and converted); blood
  ketones in mmol/L.

Temperature is read by ``numbers.temperature_c`` (°F converted to °C). Each reader
returns None when nothing plausible is found; a value outside the physiological range
(heart rate 20-250, respiratory rate 4-80, systolic 50-260, diastolic 30-200, saturation
50-100, glucose 0.5-50 mmol/L, ketones 0-15 mmol/L) is ignored.
"""

from __future__ import annotations

import re

_VALUE = r"(\d{1,3}(?:\.\d)?)"
_LINK = (
    r"(?:\s*(?:is|was|of|at|:|=|around|about|up to|over|reading|reads|now|only|down to|"
    r"went up to|hit|says|said|shows|showing|showed|"
    # "heart rate on his watch says 150": the device between the sign and its value
    r"on (?:the|my|his|her|their) (?:watch|smartwatch|fitbit|monitor|machine|phone|app))\s*)*\s*"
)

_SATS_LINK = (
    r"(?:\s*(?:is|was|are|were|of|at|:|=|around|about|up to|over|reading|reads|read|now|only|"
    r"down to|dropped to|dropping to|dropped|dropping|dips to|dipping to|dipped to|went down to|"
    r"going down to|fell to|falling to|keeps|keep|kept|showing|shows|showed|says|said|saying|"
    r"sitting at|hovering at|hovering around|staying at|stuck at|still|just|under|below|"
    r"levels?|sats?|saturations?|on (?:the|my|his|her) (?:pulse\s*)?ox(?:imeter)?)\s*)*\s*"
)
_EXERCISE = re.compile(
    r"\b(?:run|running|ran|jog|jogging|gym|workout|working out|work out|exercis\w*|training|"
    r"treadmill|spin class|cycling|bike ride|sprint\w*|hiit|cardio|max(?:imum)? heart rate|"
    r"peak heart rate|race|marathon|football|match|climbing the stairs|walking up)\b",
    re.I,
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
    r"\b(?:bp|blood\s*pressure)\b(?:\s*(?:reading|readings|machine|monitor))?"
    + _LINK
    + r"(\d{2,3})\s*(?:/|\bover\b)\s*(\d{2,3})\b",  # "230 over 125" as well as "230/125"
    re.I,
)
# "BP at the pharmacy just now was 165/112", "BP on my right arm 185/100": a few words between
# the name and the reading (no digits or sentence stops, so another number cannot slip in).
_BLOOD_PRESSURE_LATER = re.compile(
    r"\b(?:bp|blood\s*pressure)\b[^\d.,;!?]{1,40}?(\d{2,3})\s*(?:/|\bover\b)\s*(\d{2,3})\b",
    re.I,
)
_MMHG = re.compile(r"(?<![\d/])(\d{2,3})\s*/\s*(\d{2,3})\s*(?:mm\s*hg|mmhg)\b", re.I)
# "home monitor says 190/120", "the cuff read 85/50": a reading named by the device
_MONITOR_BP = re.compile(
    r"\b(?:monitor|machine|cuff)\s+(?:says|said|reads|read|reading|shows|showed|showing|is|was|"
    r"gave|gives)\s*:?\s*(\d{2,3})\s*(?:/|\bover\b)\s*(\d{2,3})\b",
    re.I,
)
_SATS = re.compile(
    r"\b(?:sats?|saturations?|saturating|spo2|sp02|o2\s*sats?|o2\s*saturation|o2|oxygen(?:\s*(?:sats?|"
    r"saturations?|levels?|level|reading))?|(?:pulse\s*)?ox(?:imeter|ymeter|i)(?:\s*(?:reading|says))?|"
    r"pulse\s*ox)\b"
    # "oxygen finger thing says 87%": the device named in the patient's own words
    r"(?:\s+(?:finger|clip|thing|monitor|machine|meter|probe|gadget|device|sensor|watch|tester))*"
    + _SATS_LINK
    + r"(\d{2,3})(?!\s*(?:/|\.\d|l\b|litres|liters|lpm|bpm|beats|minutes|mins|hours|days))\s*%?",
    re.I,
)
_PERCENT_SATS = re.compile(
    r"(?<![\d.])(\d{2,3})\s*%\s*(?:on\s+(?:room\s+)?air|ra|sats?|oxygen|o2|on\s+(?:the|my|his|her)\s+"
    r"(?:pulse\s*)?ox(?:imeter)?)\b",
    re.I,
)
_GLUCOSE = re.compile(
    r"\b(?:blood\s*(?:sugars?|glucose)|sugars?(?:\s*levels?)?|glucose(?:\s*levels?)?|bms?|cbg|bg)\b"
    + _SATS_LINK
    + r"(\d{1,3}(?:\.\d{1,2})?)"
    r"(?!\s*(?:/|%|°|degrees|years|yrs|weeks|days|hours|mins|minutes|units|"
    r"grams|g\b|kg|tablets|spoons|teaspoons|cubes))\s*(mmol(?:/l)?|mg\s*/?\s*dl|mg)?",
    re.I,
)
_KETONES = re.compile(
    r"\b(?:blood\s*)?ketones?(?:\s*(?:levels?|reading|test|meter))?\b"
    + _SATS_LINK
    + r"(\d{1,2}(?:\.\d{1,2})?)(?!\s*(?:\+|/|%))",
    re.I,
)


def _values(patterns: tuple[re.Pattern[str], ...], text: str) -> list[float]:
    return [float(m.group(1)) for p in patterns for m in p.finditer(text)]


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence (or clause up to a full stop, ! or ?) around text[start:end]."""
    left = max(text.rfind(mark, 0, start) for mark in ".!?\n")
    rights = [i for i in (text.find(mark, end) for mark in ".!?\n") if i >= 0]
    return text[left + 1 : min(rights) if rights else len(text)]


def heart_rate(text: str) -> float | None:
    """The highest plausible resting heart rate (beats per minute) reported in the text.

    A reading in a sentence about exercise ("hit 160 on my run") is not a resting
    observation and is skipped."""
    values = [
        float(m.group(1))
        for p in (_HEART_RATE, _BPM)
        for m in p.finditer(text)
        if not _EXERCISE.search(_sentence(text, m.start(), m.end()))
    ]
    values = [v for v in values if 20 <= v <= 250]
    return max(values) if values else None


def resp_rate(text: str) -> float | None:
    """The highest plausible respiratory rate (breaths per minute) reported in the text."""
    values = [v for v in _values((_RESP_RATE, _BREATHS), text) if 4 <= v <= 80]
    return max(values) if values else None


def systolic_bp(text: str) -> float | None:
    """The lowest plausible systolic blood pressure (mmHg) reported in the text."""
    values = [
        float(m.group(1))
        for p in (_BLOOD_PRESSURE, _BLOOD_PRESSURE_LATER, _MMHG, _MONITOR_BP)
        for m in p.finditer(text)
        if float(m.group(1)) > float(m.group(2))
    ]
    values = [v for v in values if 50 <= v <= 260]
    return min(values) if values else None


def diastolic_bp(text: str) -> float | None:
    """The diastolic blood pressure (mmHg) of the reading kept for the systolic (the lowest
    systolic), so that both facts describe one reading ("120/80 today after 190/120")."""
    pairs = [
        (float(m.group(1)), float(m.group(2)))
        for p in (_BLOOD_PRESSURE, _BLOOD_PRESSURE_LATER, _MMHG, _MONITOR_BP)
        for m in p.finditer(text)
        if float(m.group(1)) > float(m.group(2))
    ]
    pairs = [(s, d) for s, d in pairs if 50 <= s <= 260 and 30 <= d <= 200]
    return min(pairs)[1] if pairs else None


def _glucose_values(text: str) -> list[float]:
    """Blood glucose readings in mmol/L; a value over 35 counts only with mg/dL (÷ 18)."""
    values = []
    for m in _GLUCOSE.finditer(text):
        value, unit = float(m.group(1)), (m.group(2) or "").lower()
        if unit.startswith("mg"):
            value = round(value / 18.0, 1)
        elif value > 35:
            continue
        if 0.5 <= value <= 50:
            values.append(value)
    return values


def blood_glucose(text: str) -> float | None:
    """The lowest plausible blood glucose (mmol/L) reported in the text."""
    values = _glucose_values(text)
    return min(values) if values else None


def blood_glucose_high(text: str) -> float | None:
    """The highest plausible blood glucose (mmol/L) reported in the text."""
    values = _glucose_values(text)
    return max(values) if values else None


def blood_ketones(text: str) -> float | None:
    """The highest plausible blood ketone level (mmol/L) reported in the text."""
    values = [v for v in _values((_KETONES,), text) if 0 <= v <= 15]
    return max(values) if values else None


def spo2(text: str) -> float | None:
    """The lowest plausible oxygen saturation (percent) reported in the text."""
    values = [v for v in _values((_SATS, _PERCENT_SATS), text) if 50 <= v <= 100]
    return min(values) if values else None


def blood_pressure_spans(text: str) -> list[tuple[int, int]]:
    """Where blood pressures are written, so that "88/52" is not read as 88 weeks."""
    return [
        m.span()
        for p in (_BLOOD_PRESSURE, _BLOOD_PRESSURE_LATER, _MMHG, _MONITOR_BP)
        for m in p.finditer(text)
    ]


READERS = {
    "heart_rate": heart_rate,
    "resp_rate": resp_rate,
    "systolic_bp": systolic_bp,
    "diastolic_bp": diastolic_bp,
    "spo2": spo2,
    "blood_glucose": blood_glucose,
    "blood_glucose_high": blood_glucose_high,
    "blood_ketones": blood_ketones,
}
