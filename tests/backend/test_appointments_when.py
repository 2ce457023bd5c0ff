"""Date and time understanding: table tests at fixed clocks, and properties over any clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.appointments.calendar import ClinicCalendar
from backend.appointments.when import Ask, Unusable, Window, understand_when

TZ = ZoneInfo("America/New_York")
CAL = ClinicCalendar(tz=TZ)
FRIDAY_10AM = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # the week before Thanksgiving


def window(text: str, now: datetime = FRIDAY_10AM) -> Window:
    found = understand_when(text, now=now, calendar=CAL)
    assert isinstance(found, Window), found
    return found


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("tomorrow afternoon", [date(2026, 11, 21)], time(12), time(17)),
        ("cn i get appt tmrw", [date(2026, 11, 21)], time(8), time(19)),
        ("next Tuesday", [date(2026, 11, 24)], time(8), time(19)),
        ("tues morn", [date(2026, 11, 24)], time(8), time(12)),
        ("the 14th", [date(2026, 12, 14)], time(8), time(19)),
        ("Friday after 4", [date(2026, 11, 20)], time(16), time(19)),
        ("fri after 4pm", [date(2026, 11, 20)], time(16), time(19)),
        ("monday at 3", [date(2026, 11, 23)], time(15), time(16)),
        ("in 3 days", [date(2026, 11, 23)], time(8), time(19)),
        ("dec 1st", [date(2026, 12, 1)], time(8), time(19)),
        ("12/2 before 11am", [date(2026, 12, 2)], time(8), time(11)),
        ("March 3", [date(2027, 3, 3)], time(8), time(19)),
    ],
)
def test_phrases_become_the_window_the_patient_means(
    text: str, days: list[date], start: time, end: time
) -> None:
    found = window(text)
    assert list(found.days) == days
    assert (found.start_time, found.end_time) == (start, end)


def test_after_5_with_no_day_looks_over_the_coming_open_days_in_the_evening() -> None:
    found = window("after 5")
    assert (found.start_time, found.end_time) == (time(17), time(19))
    assert found.days[0] == date(2026, 11, 20)
    assert date(2026, 11, 22) not in found.days  # Sunday: closed
    assert date(2026, 11, 26) not in found.days  # Thanksgiving: closed


def test_next_week_skips_sunday_and_the_holiday() -> None:
    found = window("sometime next week")
    assert found.days == (
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 27),
        date(2026, 11, 28),
    )


def test_in_two_weeks_is_the_week_starting_fourteen_days_on() -> None:
    found = window("in two weeks")
    assert found.days[0] == date(2026, 12, 4)
    assert all(d < date(2026, 12, 11) for d in found.days)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("February 30", "impossible"),
        ("yesterday", "past"),
        ("3 am", "outside_hours"),
        ("at 7", "outside_hours"),
        ("thanksgiving day, nov 26", "closed"),
        ("12/25", "closed"),
        ("this sunday", "closed"),
        ("the 32nd", "impossible"),
        ("25:00", None),
        ("Nov 10", "past"),
    ],
)
def test_unusable_times_get_an_explanation_and_a_question(text: str, reason: str | None) -> None:
    found = understand_when(text, now=FRIDAY_10AM, calendar=CAL)
    if reason is None:
        assert found is None or isinstance(found, Unusable)
        return
    assert isinstance(found, Unusable), found
    assert found.reason == reason
    assert found.message.endswith("?")


def test_a_day_of_month_that_just_passed_is_asked_about_not_guessed() -> None:
    found = understand_when("the 18th", now=FRIDAY_10AM, calendar=CAL)
    assert isinstance(found, Ask)
    assert "December 18" in found.question


def test_a_time_that_already_passed_today_is_explained() -> None:
    evening = datetime(2026, 11, 20, 18, 30, tzinfo=TZ)
    found = understand_when("today morning", now=evening, calendar=CAL)
    assert isinstance(found, Unusable) and found.reason == "past"


def test_no_time_named_gives_none() -> None:
    assert understand_when("i need to see a skin doctor", now=FRIDAY_10AM, calendar=CAL) is None


# -- month ends, year end, daylight saving --------------------------------------------------


def test_tomorrow_on_the_last_day_of_january_is_february_first() -> None:
    assert window("tomorrow", datetime(2027, 1, 31, 9, tzinfo=TZ)).days == (date(2027, 2, 1),)


def test_the_31st_skips_months_without_one() -> None:
    assert window("the 31st", datetime(2027, 2, 5, 9, tzinfo=TZ)).days == (date(2027, 3, 31),)


def test_the_29th_in_february_of_a_common_year_is_in_march() -> None:
    assert window("the 29th", datetime(2027, 2, 10, 9, tzinfo=TZ)).days == (date(2027, 3, 29),)


def test_next_week_across_the_year_end() -> None:
    found = window("next week", datetime(2026, 12, 30, 9, tzinfo=TZ))
    assert found.days[0] == date(2027, 1, 4)  # Friday Jan 1 is New Year's Day, closed anyway


def test_the_5th_said_in_late_december_is_in_january() -> None:
    assert window("the 5th", datetime(2026, 12, 28, 9, tzinfo=TZ)).days == (date(2027, 1, 5),)


def test_january_date_said_in_december_is_next_year() -> None:
    assert window("jan 6", datetime(2026, 12, 28, 9, tzinfo=TZ)).days == (date(2027, 1, 6),)


def test_monday_morning_after_the_autumn_clock_change_is_8am_local() -> None:
    saturday = datetime(2026, 10, 31, 10, tzinfo=TZ)  # clocks go back on Sunday Nov 1
    start, end = window("monday morning", saturday).bounds(CAL)
    assert start.astimezone(timezone.utc) == datetime(2026, 11, 2, 13, tzinfo=timezone.utc)
    assert end - start == timedelta(hours=4)


def test_tuesday_afternoon_after_the_spring_clock_change_is_noon_local() -> None:
    friday = datetime(2027, 3, 12, 10, tzinfo=TZ)  # clocks go forward on Sunday Mar 14
    start, _ = window("tuesday afternoon", friday).bounds(CAL)
    assert start.astimezone(timezone.utc) == datetime(2027, 3, 16, 16, tzinfo=timezone.utc)


# -- properties -------------------------------------------------------------------------------

PHRASES = st.sampled_from(
    [
        "tomorrow",
        "tomorrow afternoon",
        "next tuesday",
        "the 14th",
        "the 3rd",
        "in two weeks",
        "after 5",
        "friday after 4",
        "morning",
        "evening",
        "next week",
        "this week",
        "in 3 days",
        "monday at 3",
        "at 5",
        "jan 1",
        "dec 25",
        "feb 29",
        "the 31st",
        "yesterday",
        "3 am",
        "saturday morning",
    ]
)
CLOCKS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(TZ)
)


@settings(max_examples=300, deadline=None)
@given(text=PHRASES, now=CLOCKS)
def test_every_window_is_open_in_the_future_and_non_empty(text: str, now: datetime) -> None:
    found = understand_when(text, now=now, calendar=CAL)
    if isinstance(found, Ask):
        assert found.question.endswith("?")
    elif isinstance(found, Unusable):
        assert found.message.endswith("?")
    else:
        assert isinstance(found, Window)
        assert found.start_time < found.end_time
        assert CAL.opens <= found.start_time and found.end_time <= CAL.closes
        assert found.days == tuple(sorted(found.days))
        assert all(d >= now.date() for d in found.days)
        assert all(CAL.closed_reason(d) is None for d in found.days)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80), now=CLOCKS)
def test_any_text_is_answered_never_raised(text: str, now: datetime) -> None:
    found = understand_when(text, now=now, calendar=CAL)
    assert found is None or isinstance(found, Window | Ask | Unusable)
