"""What a patient means by "tomorrow afternoon", "next Tuesday", "the 14th" or "Friday after 4".

A pure function of the text, a clock ("now") and the clinic calendar. The answer is one of:
`Window` (days and a time of day in the clinic's zone, ready for a slot search), `Ask` (the text
is ambiguous: ask this question), `Unusable` (impossible or closed: say why and ask again), or
None when the text names no day or time at all. It never raises on any input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from backend.appointments.calendar import ClinicCalendar, clock
from backend.appointments.words import normalise

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
PARTS_OF_DAY = {
    "morning": (time(0), time(12)),
    "lunchtime": (time(12), time(14)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59)),
}
HORIZON_DAYS = 7  # a time with no day ("after 5") is looked for over the coming week
PAST_GRACE_DAYS = 31  # "March 3" a few weeks ago is a mistake; months ago means next year

_MONTH = r"(?P<month>" + "|".join(m[:3] + r"[a-z]*" for m in MONTHS) + r")"
_ORD = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_HOUR = r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"


@dataclass(frozen=True)
class Window:
    """Days (ascending, all open) and the time of day to look for slots, in the clinic's zone."""

    days: tuple[date, ...]
    start_time: time
    end_time: time
    label: str

    def bounds(self, calendar: ClinicCalendar) -> tuple[datetime, datetime]:
        """The aware [start, end) covering every day of the window."""
        start = datetime.combine(self.days[0], self.start_time, tzinfo=calendar.tz)
        end = datetime.combine(self.days[-1], self.end_time, tzinfo=calendar.tz)
        return start, end

    def contains(self, at: datetime, calendar: ClinicCalendar) -> bool:
        """True when `at` falls on one of the days and inside the time of day."""
        local = at.astimezone(calendar.tz)
        return local.date() in self.days and self.start_time <= local.time() < self.end_time


@dataclass(frozen=True)
class Ask:
    """The text could mean more than one thing: ask `question`."""

    reason: str
    question: str


@dataclass(frozen=True)
class Unusable:
    """The text names a time no one can be seen at (past, impossible, closed): say `message`."""

    reason: str
    message: str


WhenResult = Window | Ask | Unusable


@dataclass(frozen=True)
class _Days:
    days: tuple[date, ...]
    label: str
    single: bool


@dataclass(frozen=True)
class _Times:
    start: time
    end: time
    label: str


def understand_when(text: str, *, now: datetime, calendar: ClinicCalendar) -> WhenResult | None:
    """The window the patient means, a question, an explanation, or None if no time is named."""
    try:
        return _understand(normalise(text), now.astimezone(calendar.tz), calendar)
    except (ValueError, OverflowError):  # a date library refusing odd input is still "unusable"
        return Unusable("unparseable", "Sorry, I couldn't work out that date. " + _ASK_DAY)


_ASK_DAY = "Which day would suit you?"


def _understand(text: str, now: datetime, calendar: ClinicCalendar) -> WhenResult | None:
    days = _days(text, now.date())
    if isinstance(days, Ask | Unusable):
        return days
    times = _times(text, calendar)
    if isinstance(times, Ask | Unusable):
        return times
    if days is None and times is None:
        return None
    if times is None:
        times = _Times(calendar.opens, calendar.closes, "")
    start_t, end_t = max(times.start, calendar.opens), min(times.end, calendar.closes)
    if start_t >= end_t:
        return Unusable(
            "outside_hours",
            f"The clinics are open {calendar.hours_text()}, so that time won't work. "
            "What time of day would suit you?",
        )
    if days is None:
        span = tuple(now.date() + timedelta(days=i) for i in range(HORIZON_DAYS))
        days = _Days(span, "", single=False)
    return _fit(days, _Times(start_t, end_t, times.label), now, calendar)


def _fit(days: _Days, times: _Times, now: datetime, calendar: ClinicCalendar) -> WhenResult:
    """Drop closed days and past times; explain when nothing is left."""
    label = " ".join(part for part in (days.label, times.label) if part) or "then"
    if days.days[-1] < now.date():
        return Unusable("past", f"{_day_text(days.days[-1])} has already passed. {_ASK_DAY}")
    open_days = []
    for day in days.days:
        if calendar.closed_reason(day):
            continue
        if day == now.date() and now.time() >= times.end:
            continue
        open_days.append(day)
    if not open_days:
        if days.single:
            day = days.days[0]
            reason = calendar.closed_reason(day)
            if reason:
                return Unusable(
                    "closed", f"The clinics are closed on {reason} ({_day_text(day)}). {_ASK_DAY}"
                )
            return Unusable("past", f"That time has already passed today. {_ASK_DAY}")
        return Unusable("closed", f"The clinics are closed then. {_ASK_DAY}")
    # Earlier today stays in the window: the slot search drops what has already started.
    return Window(tuple(open_days), times.start, times.end, label)


# -- days ------------------------------------------------------------------------------------


def _days(text: str, today: date) -> _Days | Ask | Unusable | None:
    for finder in (_relative_day, _month_day, _numeric_date, _ordinal_day, _week, _in_n, _weekday):
        found = finder(text, today)
        if found is not None:
            return found
    return None


def _one(day: date, label: str) -> _Days:
    return _Days((day,), label, single=True)


def _relative_day(text: str, today: date) -> _Days | Unusable | None:
    if re.search(r"\byesterday\b|\blast (?:week|" + "|".join(WEEKDAYS) + r")\b", text):
        return Unusable("past", f"That's in the past. {_ASK_DAY}")
    if re.search(r"\bday after tomorrow\b", text):
        return _one(today + timedelta(days=2), "the day after tomorrow")
    if re.search(r"\btomorrow\b", text):
        return _one(today + timedelta(days=1), "tomorrow")
    if re.search(r"\b(?:today|tonight|asap|as soon as possible)\b", text):
        return _one(today, "today")
    return None


def _month_day(text: str, today: date) -> _Days | Unusable | None:
    match = re.search(rf"\b{_MONTH}\.?\s+(?:the\s+)?{_ORD}\b", text) or re.search(
        rf"\b(?:the\s+)?{_ORD}\s+(?:of\s+)?{_MONTH}\b", text
    )
    if match is None:
        return None
    month = next(i for i, m in enumerate(MONTHS, 1) if m.startswith(match["month"][:3]))
    return _dated(today, month, int(match["day"]))


def _numeric_date(text: str, today: date) -> _Days | Unusable | None:
    # US order (month/day), as the clinics are in the US; a year, if given, is ignored.
    match = re.search(r"\b(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/\d{2,4})?\b", text)
    if match is None or not 1 <= int(match["month"]) <= 12:
        return None
    return _dated(today, int(match["month"]), int(match["day"]))


def _dated(today: date, month: int, day: int) -> _Days | Unusable:
    try:
        when = date(today.year, month, day)
    except ValueError:
        name = MONTHS[month - 1].capitalize()
        return Unusable("impossible", f"{name} doesn't have a day {day}. {_ASK_DAY}")
    if when < today:
        if (today - when).days <= PAST_GRACE_DAYS:
            return Unusable("past", f"{_day_text(when)} has already passed. {_ASK_DAY}")
        next_year = _next_year(when)
        if next_year is None:
            return Unusable("impossible", f"February 29 isn't a date next year. {_ASK_DAY}")
        when = next_year
    return _one(when, _day_text(when))


def _next_year(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return None


def _ordinal_day(text: str, today: date) -> _Days | Ask | Unusable | None:
    match = re.search(r"\b(?:the|on)\s+(?P<day>\d{1,2})(?:st|nd|rd|th)\b", text) or re.search(
        r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)\b", text
    )
    if match is None:
        return None
    day = int(match["day"])
    if not 1 <= day <= 31:
        return Unusable("impossible", f"No month has a day {day}. {_ASK_DAY}")
    if day == today.day:
        return _one(today, "today")
    candidate = _next_with_day(today, day)
    if 0 < today.day - day <= 3:
        # "the 3rd" on the 5th: a slip for a past day, or next month? Ask rather than guess.
        return Ask(
            "which_month",
            f"The {_ordinal(day)} of this month has just passed. "
            f"Do you mean {_day_text(candidate)}?",
        )
    return _one(candidate, f"the {_ordinal(day)}")


def _next_with_day(today: date, day: int) -> date:
    month_start = today.replace(day=1)
    for ahead in range(0, 13):
        first = month_start + relativedelta(months=ahead)
        try:
            candidate = first.replace(day=day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise ValueError(f"no month has a day {day}")


def _week(text: str, today: date) -> _Days | None:
    monday = today - timedelta(days=today.weekday())
    if re.search(r"\b(?:next|following) week\b", text):
        start = monday + timedelta(weeks=1)
        return _Days(tuple(start + timedelta(days=i) for i in range(7)), "next week", False)
    if re.search(r"\b(?:this|later this|rest of the) week\b", text):
        span = (today + timedelta(days=i) for i in range(7 - today.weekday()))
        return _Days(tuple(span), "this week", False)
    if re.search(r"\b(?:weekend)\b", text):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return _one(saturday, "on Saturday")
    return None


def _in_n(text: str, today: date) -> _Days | None:
    match = re.search(
        r"\bin\s+(?:a\s+couple\s+of|(?P<n>\d{1,2}|" + "|".join(NUMBER_WORDS) + r"))\s+"
        r"(?P<unit>days?|weeks?|months?)\b",
        text,
    )
    if match is None:
        return None
    raw = match["n"]
    n = 2 if raw is None else int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
    unit = match["unit"].rstrip("s")
    if unit == "day":
        return _one(today + timedelta(days=n), f"in {n} day{'s' * (n != 1)}")
    target = today + (timedelta(weeks=n) if unit == "week" else relativedelta(months=n))
    # "in two weeks" is a week starting then, not one exact day.
    label = f"in {n} {unit}{'s' * (n != 1)}"
    return _Days(tuple(target + timedelta(days=i) for i in range(7)), label, False)


def _weekday(text: str, today: date) -> _Days | None:
    match = re.search(
        r"\b(?P<next>next\s+|this\s+|on\s+)?(?P<day>" + "|".join(WEEKDAYS) + r")\b", text
    )
    if match is None:
        return None
    target = WEEKDAYS.index(match["day"])
    ahead = (target - today.weekday()) % 7
    if ahead == 0 and (match["next"] or "").strip() == "next":
        ahead = 7  # "next Monday" said on a Monday is a week away; otherwise the coming one
    day = today + timedelta(days=ahead)
    return _one(day, f"on {day:%A}")


# -- times -----------------------------------------------------------------------------------


def _times(text: str, calendar: ClinicCalendar) -> _Times | Ask | Unusable | None:
    between = re.search(
        r"\bbetween\s+" + _HOUR + r"\s+and\s+(?P<hour2>\d{1,2})(?::(?P<minute2>\d{2}))?"
        r"\s*(?P<ampm2>am|pm)?",
        text,
    )
    if between:
        first = _hour(
            between["hour"], between["minute"], between["ampm"] or between["ampm2"], calendar
        )
        second = _hour(between["hour2"], between["minute2"], between["ampm2"], calendar)
        for found in (first, second):
            if isinstance(found, Ask | Unusable):
                return found
        assert isinstance(first, time) and isinstance(second, time)
        return _Times(first, second, f"between {clock(first)} and {clock(second)}")
    for word, (start, end) in PARTS_OF_DAY.items():
        if re.search(rf"\b{word}s?\b", text):
            bounded = _bounded(text, calendar)
            if isinstance(bounded, _Times):
                return _Times(max(start, bounded.start), min(end, bounded.end), bounded.label)
            return _Times(start, end, f"in the {word}" if word != "lunchtime" else "at lunchtime")
    if re.search(r"\bnoon\b|\bmidday\b", text):
        return _Times(time(12), time(13), "around noon")
    return _bounded(text, calendar)


def _bounded(text: str, calendar: ClinicCalendar) -> _Times | Ask | Unusable | None:
    match = re.search(r"\b(?P<kind>after|from|before|by|at|around|@)\s*" + _HOUR + r"\b", text)
    if match is None:
        match = re.search(r"(?P<kind>)\b" + _HOUR, text)  # "3pm" alone; a bare "3" is no time
        if match is None or not match["ampm"]:
            return None
    at = _hour(match["hour"], match["minute"], match["ampm"], calendar)
    if not isinstance(at, time):
        return at
    kind = match["kind"] or "at"
    if kind in ("after", "from"):
        return _Times(at, calendar.closes, f"after {clock(at)}")
    if kind in ("before", "by"):
        return _Times(calendar.opens, at, f"before {clock(at)}")
    later = (datetime.combine(date.min, at) + timedelta(hours=1)).time()
    return _Times(at, later, f"around {clock(at)}")


def _hour(
    raw_hour: str, raw_minute: str | None, ampm: str | None, calendar: ClinicCalendar
) -> time | Ask | Unusable:
    hour, minute = int(raw_hour), int(raw_minute or 0)
    if minute > 59 or hour > 23:
        return Unusable("impossible", f"{raw_hour}:{raw_minute} isn't a time. What time suits you?")
    if ampm:
        if not 1 <= hour <= 12:
            return Unusable("impossible", f"{hour} {ampm} isn't a time. What time suits you?")
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
        at = time(hour, minute)
        if not calendar.opens <= at <= calendar.closes:
            return Unusable(
                "outside_hours",
                f"The clinics are closed at {clock(at)}: they are open {calendar.hours_text()}. "
                "What time would suit you?",
            )
        return at
    if hour > 12:
        return _hour(str(hour - 12), raw_minute, "pm", calendar)
    candidates = [
        time(h % 24, minute)
        for h in {hour % 12, hour % 12 + 12}
        if calendar.opens <= time(h % 24, minute) < calendar.closes
    ]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return Unusable(
            "outside_hours",
            f"The clinics are open {calendar.hours_text()}, so neither {hour} am nor {hour} pm "
            "works. What time would suit you?",
        )
    return Ask(
        "am_or_pm",
        f"Do you mean {hour} in the morning or {hour} in the evening? "
        f"The clinics are open {calendar.hours_text()}.",
    )


# -- wording ---------------------------------------------------------------------------------


def _day_text(day: date) -> str:
    return f"{day:%A} {day:%B} {day.day}"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
