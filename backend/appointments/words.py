"""Patient wording made regular before matching: lower case, SMS shorthand and common typos."""

from __future__ import annotations

import re

# Whole-word replacements; keys are what patients type, values what the parsers expect.
SHORTHAND = {
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tmorrow": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "2day": "today",
    "tdy": "today",
    "2nite": "tonight",
    "nxt": "next",
    "wk": "week",
    "wks": "weeks",
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
    "weds": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
    "mornin": "morning",
    "morn": "morning",
    "arvo": "afternoon",
    "aft": "afternoon",
    "aftn": "afternoon",
    "afternon": "afternoon",
    "eve": "evening",
    "evenin": "evening",
    "b4": "before",
    "aftr": "after",
    "noon": "noon",
    "pls": "please",
    "appt": "appointment",
}
_WORD = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> str:
    """Lower case, single spaces, shorthand expanded, plural weekdays made singular."""
    lowered = text.lower().replace("’", "'")
    lowered = re.sub(r"(\d)\s*(am|pm)\b", r"\1\2", lowered)
    expanded = _WORD.sub(lambda m: SHORTHAND.get(m.group(0), m.group(0)), lowered)
    expanded = re.sub(
        r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s\b", r"\1", expanded
    )
    return re.sub(r"\s+", " ", expanded).strip()
