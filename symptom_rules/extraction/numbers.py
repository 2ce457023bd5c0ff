"""Numbers in patient text: temperatures (°F/°C), ages, durations, pain scores, pregnancy weeks.

Plain regular expressions over the message; spaCy tokens are not needed for these. Each
reader returns None when the text holds nothing plausible (a body temperature outside
34-43 °C is ignored, as is an age over 120).
"""

from __future__ import annotations

import re

WORD_NUMBERS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "eleven": 11.0,
    "twelve": 12.0,
    "couple": 2.0,
    "couple of": 2.0,
    "few": 3.0,
    "a few": 3.0,
    "several": 4.0,
}
_NUM = (
    r"(\d{1,3}(?:[.,]\d{1,2})?|(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve)(?=[\s-]))"
)
_QTY = (
    r"(\d{1,3}(?:[.,]\d{1,2})?(?=\s*[a-z])|(?:an?|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)(?=\s))"
)
UNIT_DAYS = {
    "min": 1 / 1440,
    "minute": 1 / 1440,
    "hr": 1 / 24,
    "hour": 1 / 24,
    "h": 1 / 24,
    "day": 1.0,
    "d": 1.0,
    "wk": 7.0,
    "week": 7.0,
    "w": 7.0,
    "mo": 30.0,
    "mth": 30.0,
    "month": 30.0,
    "yr": 365.0,
    "year": 365.0,
    "y": 365.0,
}
_UNITS = r"(mins?|minutes?|hrs?|hours?|h|days?|d|wks?|weeks?|w|mos?|mths?|months?|yrs?|years?|y)"

_TEMP_UNIT = re.compile(
    r"(?<![\d.])(\d{2,3}(?:[.,]\d{1,2})?)\s*(?:°|º|deg(?:ree)?s?\b)?\s*"
    r"(fahrenheit|celsius|centigrade|f|c)\b",
    re.I,
)
_TEMP_WORD = re.compile(
    r"\b(?:temp(?:erature)?|fever|febrile|t|thermometer)\b\s*(?:is|was|of|at|:|=|reading|reads|"
    r"read|says|said|shows|showed|showing|around|about|up to|hit|reached|went up to|over|to|"
    r"'s|has|had|been|now|still|currently|keeps|kept|going|gone|went|came|come|back|up|"
    r"spiked|spiking|jumped|climbed|rose|risen|peaked|peaking|hitting|measured|registering|"
    r"almost|nearly|just|only|right|since|this morning|tonight|today|\s)*"
    r"\s*(\d{2,3}(?:[.,]\d{1,2})?)"
    r"(?!\s*(?:/|%|days?|hours?|hrs?|weeks?))",
    re.I,
)
# The number first: "a 38.4 temp", "102 fever", "38.2 ear temperature".
_TEMP_BEFORE_WORD = re.compile(
    r"(?<![\d.,/])(\d{2,3}(?:[.,]\d{1,2})?)\s*(?:°|º)?\s*"
    r"(?:(?:ear|oral|armpit|underarm|forehead|rectal|body)\s+)?(?:temp(?:erature)?|fever)\b",
    re.I,
)
_TEMP_DEGREES = re.compile(
    r"(?<![\d.])(\d{2,3}(?:[.,]\d{1,2})?)\s*(?:°|º|degrees?)(?!\s*[cf])", re.I
)
_AGE_OLD = re.compile(
    rf"\b{_NUM}\s*[- ]?\s*(y/?o|y\.o\.?|yrs?|years?|yr|months?|mths?|mos?|mo|m/?o|weeks?|wks?|wk|"
    r"days?|d/?o)\b(?:\s*[- ]?\s*old)?",
    re.I,
)
_AGE_PLAIN = re.compile(r"\b(\d{1,3})\s?(yo|y/o|y\.o\.?|yr old|year old)\b", re.I)
_AGE_STATED = re.compile(
    r"\b(?:i'?m|i am|aged?|age:?|he'?s|she'?s|he is|she is|(?:kid|child|son|daughter|boy|girl|"
    r"toddler|baby)(?:'s|\s+is))\s+(\d{1,3})\b"
    r"(?!\s*(?:weeks?|wks?|months?|kg|lbs?|pounds|%|/|[.,]\d|days?|hours?|hrs?|mins?|times?))",
    re.I,
)
# "my baby is 8 weeks", "he's 2 months", "aged 7 weeks" (not "8 weeks pregnant" or "6 weeks early").
_AGE_UNIT_STATED = re.compile(
    r"\b(?:aged?|(?:baby|son|daughter|boy|girl|infant|newborn|he|she|little one)"
    r"(?:'s|\s+is|\s+was)|"
    r"he'?s|she'?s)\s+(?:only\s+|just\s+|now\s+)?"
    rf"{_NUM}\s*(days?|weeks?|wks?|months?|mths?|mos?)\b"
    r"(?!\s*(?:pregnant|preg|along|gestation|post|postpartum|postnatal|ago|since|after|early|"
    r"late|overdue|premature|prem|corrected|into|of|in|on|off|out))",
    re.I,
)
# "my 10 week baby", "a 5 day newborn", "my baby (7 weeks)".
_AGE_UNIT_BEFORE_CHILD = re.compile(
    rf"\b{_NUM}[- ]?(days?|weeks?|wks?|months?|mths?)[- ](?:old\s+)?"
    r"(?:baby|son|daughter|boy|girl|infant|newborn)\b",
    re.I,
)
_AGE_IN_BRACKETS = re.compile(
    r"\b(?:baby|son|daughter|infant|newborn)\s*\(\s*(\d{1,2})\s*"
    r"(days?|weeks?|wks?|months?|mths?)(?:\s*old)?\s*\)",
    re.I,
)
_AGE_SEX = re.compile(r"(?<![\d.,])\b(\d{1,2})\s?([MF])\b")
# Clinician shorthand: 4/12 old (months), 6/52 old (weeks), 3/7 history (days).
_FRACTION = re.compile(r"(?<![\d/])(\d{1,2})/(7|52|12)(?![\d/])(\s*(?:old|o\b))?", re.I)
FRACTION_DAYS = {"7": 1.0, "52": 7.0, "12": 30.0}
_NEWBORN = re.compile(r"\b(new\s?born|neonate|neo-natal|neonatal)\b", re.I)
_DURATION = re.compile(
    rf"\b(?:for|since|over|past|last|lasting|lasted|about|almost|nearly|it'?s been|been|"
    rf"started|began)\s+(?:the\s+)?(?:past\s+|last\s+|about\s+|over\s+|almost\s+|nearly\s+)?"
    rf"{_QTY}\s*{_UNITS}\b",
    re.I,
)
_AGO = re.compile(rf"\b{_QTY}\s*{_UNITS}\s+(?:ago|now)\b", re.I)
_SINCE = {
    r"since (?:this|early this) morning": 0.25,
    r"since (?:last night|yesterday)": 1.0,
    r"since (?:last week|a week)": 7.0,
    r"since (?:last month|a month)": 30.0,
    r"\ball (?:day|night)\b": 0.5,
    r"\ball week\b": 7.0,
    r"\bfor ages\b": 30.0,
}
_THERMOMETER = re.compile(
    r"(?<![\d.])(\d{2,3}(?:[.,]\d{1,2})?)\s*(?:on|according to) (?:the|a|his|her|my) thermometer",
    re.I,
)
_TABLETS = re.compile(
    r"\b(?:took|taken|taking|swallowed|ate|eaten|downed|had)\s+(?:about|around|like|over|maybe)?\s*"
    r"(\d{1,3})\s+(?:x\s+(?:\d+\s*mg\s+)?)?(?:of\s+(?:my|his|her|the|their)\s+)?(?:(?!(?:boxes|box|packs?|packets?|bottles?|strips?|blisters?|tubs?)\b)[\w'-]+\s+){0,2}?"
    r"(?:tablets?|tabs?|pills?|capsules?|caps|paracetamol|acetaminophen|tylenol|calpol|panadol|"
    r"ibuprofen|nurofen|aspirin|naproxen|painkillers?|meds|co-codamol|cocodamol|codeine|"
    r"dihydrocodeine|tramadol|morphine|oxycodone|sertraline|citalopram|escitalopram|fluoxetine|"
    r"paroxetine|mirtazapine|venlafaxine|duloxetine|amitriptyline|nortriptyline|trazodone|"
    r"diazepam|valium|lorazepam|temazepam|alprazolam|xanax|zopiclone|zolpidem|promethazine|"
    r"quetiapine|olanzapine|lithium|pregabalin|gabapentin|propranolol|amlodipine|metformin|"
    r"gliclazide|antihistamines?|antidepressants?|sleeping\s+(?:pills|tablets))\b",
    re.I,
)
_PAIN_SCORE = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s*(?:/|out of)\s*10\b", re.I)
_PREGNANCY_WEEKS = re.compile(
    r"\b(\d{1,2})\s*(?:weeks?|wks?|wk|w)\s*(?:pregnant|preg|gestation|along)\b", re.I
)


def number(token: str) -> float:
    """A numeric token or a number word (``two``, ``a couple of``) as a float."""
    word = " ".join(token.lower().split())
    word = word.removesuffix(" of")
    if word.startswith("a ") and word[2:] in WORD_NUMBERS:
        word = word[2:]
    if word in WORD_NUMBERS:
        return WORD_NUMBERS[word]
    return float(word.replace(",", "."))


def unit_days(unit: str) -> float:
    """Days in one of a duration or age unit (``wks`` -> 7)."""
    word = unit.lower().rstrip("s").replace("/o", "").replace(".", "").replace("/", "")
    word = {"yo": "y", "mth": "mo", "do": "d", "m": "mo"}.get(word, word)
    return UNIT_DAYS.get(word, UNIT_DAYS.get(word[:3], 1.0))


def temperature_c(text: str) -> float | None:
    """The highest plausible body temperature in the text, in °C."""
    values: list[float] = []
    for match in _TEMP_UNIT.finditer(text):
        values.append(_to_celsius(number(match.group(1)), match.group(2)[0].lower()))
    for match in [
        *_TEMP_WORD.finditer(text),
        *_TEMP_BEFORE_WORD.finditer(text),
        *_TEMP_DEGREES.finditer(text),
        *_THERMOMETER.finditer(text),
    ]:
        values.append(_to_celsius(number(match.group(1)), ""))
    plausible = [round(v, 1) for v in values if 34.0 <= v <= 43.5]
    return max(plausible) if plausible else None


def _to_celsius(value: float, unit: str) -> float:
    if unit == "f" or (unit == "" and value >= 50):
        return (value - 32) * 5 / 9
    return value


def age_years(text: str) -> float | None:
    """The age stated in the text, in years (the youngest, when several are given)."""
    ages: list[float] = []
    for match in _AGE_OLD.finditer(text):
        unit = match.group(2).lower()
        old = "old" in match.group(0).lower() or (
            unit.startswith(("y", "m/", "d/")) and not _is_a_duration(text, match)
        )
        if old:
            ages.append(number(match.group(1)) * unit_days(unit) / 365.0)
    for pattern in (_AGE_UNIT_STATED, _AGE_UNIT_BEFORE_CHILD, _AGE_IN_BRACKETS):
        for match in pattern.finditer(text):
            ages.append(number(match.group(1)) * unit_days(match.group(2)) / 365.0)
    for match in _AGE_PLAIN.finditer(text):
        ages.append(float(match.group(1)))
    for match in _AGE_STATED.finditer(text):
        ages.append(float(match.group(1)))
    for match in _AGE_SEX.finditer(text):
        ages.append(float(match.group(1)))
    for match in _FRACTION.finditer(text):
        if match.group(3):
            ages.append(number(match.group(1)) * FRACTION_DAYS[match.group(2)] / 365.0)
    if not ages and _NEWBORN.search(text):
        ages.append(0.05)
    plausible = [a for a in ages if 0 <= a <= 120]
    return round(min(plausible), 3) if plausible else None


# "back pain for 3 years", "5 years ago", "a 5-year history": a time, not an age.
_DURATION_BEFORE = re.compile(
    r"\b(?:for|since|over|past|last|lasting|lasted|in|within|about|almost|nearly|been|every|"
    r"than|after|of|the)\s*$",
    re.I,
)
_DURATION_AFTER = re.compile(
    r"^[\s-]*(?:ago|history|hx|of|now|later|earlier|before|since|running|in a row|straight|"
    r"on|back|previously|prior)\b",
    re.I,
)


def _is_a_duration(text: str, match: re.Match[str]) -> bool:
    """Whether "3 years" (without "old") reads as a length of time rather than an age."""
    before = text[: match.start()]
    after = text[match.end() :]
    return bool(_DURATION_BEFORE.search(before) or _DURATION_AFTER.search(after))


def sex(text: str) -> str | None:
    """``female``/``male`` from clinician shorthand such as ``67M`` or ``34F``."""
    match = _AGE_SEX.search(text)
    if match is None:
        return None
    return "male" if match.group(2) == "M" else "female"


def duration_days(text: str) -> float | None:
    """The longest duration the text mentions, in days."""
    values = [
        number(m.group(1)) * unit_days(m.group(2))
        for pattern in (_DURATION, _AGO)
        for m in pattern.finditer(text)
    ]
    values.extend(
        number(m.group(1)) * FRACTION_DAYS[m.group(2)]
        for m in _FRACTION.finditer(text)
        if not m.group(3)
    )
    lowered = text.lower()
    values.extend(days for pattern, days in _SINCE.items() if re.search(pattern, lowered))
    return round(max(values), 4) if values else None


def pain_score(text: str) -> float | None:
    """A pain score out of 10 (``8/10``, ``7 out of 10``)."""
    scores = [float(m.group(1)) for m in _PAIN_SCORE.finditer(text)]
    scores = [s for s in scores if 0 <= s <= 10]
    return max(scores) if scores else None


def tablets_taken(text: str) -> float | None:
    """The largest number of tablets said to be taken at once ("took 20 paracetamol")."""
    counts = [float(m.group(1)) for m in _TABLETS.finditer(text)]
    return max(counts) if counts else None


def pregnancy_weeks(text: str) -> float | None:
    """Weeks of pregnancy (``12 weeks pregnant``)."""
    match = _PREGNANCY_WEEKS.search(text)
    return float(match.group(1)) if match else None
