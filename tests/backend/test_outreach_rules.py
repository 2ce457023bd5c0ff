"""Quiet hours (across daylight-saving changes) and frequency caps, with explicit clocks."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.outreach.rules import Caps, SendWindow, local_moment

NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
WINDOW = SendWindow(time(9), time(20))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_message_due_inside_the_window_goes_at_once() -> None:
    due = utc(2026, 6, 10, 15, 0)  # 11:00 in New York
    assert WINDOW.next_allowed(due, NEW_YORK) == due


def test_a_message_due_before_nine_waits_for_nine_local() -> None:
    due = utc(2026, 6, 10, 11, 0)  # 07:00 EDT
    assert WINDOW.next_allowed(due, NEW_YORK) == utc(2026, 6, 10, 13, 0)


def test_a_message_due_after_eight_pm_waits_for_the_next_morning() -> None:
    due = utc(2026, 6, 11, 1, 30)  # 21:30 EDT on 10 June
    assert WINDOW.next_allowed(due, NEW_YORK) == utc(2026, 6, 11, 13, 0)


def test_the_window_closes_at_eight_pm_exactly() -> None:
    assert WINDOW.next_allowed(utc(2026, 6, 11, 0, 0), NEW_YORK) == utc(2026, 6, 11, 13, 0)
    assert WINDOW.next_allowed(utc(2026, 6, 10, 23, 59), NEW_YORK) == utc(2026, 6, 10, 23, 59)


def test_spring_forward_night_waits_until_nine_daylight_time() -> None:
    # 8 March 2026: clocks jump 02:00 -> 03:00. 21:00 EST on the 7th is 02:00 UTC on the 8th;
    # the next 09:00 is already daylight time, 13:00 UTC rather than 14:00.
    due = utc(2026, 3, 8, 2, 0)
    assert WINDOW.next_allowed(due, NEW_YORK) == utc(2026, 3, 8, 13, 0)


def test_on_the_spring_forward_day_ten_am_local_is_allowed() -> None:
    due = utc(2026, 3, 8, 14, 0)  # 10:00 EDT
    assert WINDOW.next_allowed(due, NEW_YORK) == due


def test_fall_back_night_waits_until_nine_standard_time() -> None:
    # 1 November 2026: clocks go back 02:00 -> 01:00. 06:30 UTC is 01:30 EST (second pass).
    due = utc(2026, 11, 1, 6, 30)
    assert WINDOW.next_allowed(due, NEW_YORK) == utc(2026, 11, 1, 14, 0)


def test_on_the_fall_back_day_eight_pm_local_is_one_utc() -> None:
    # 19:59 EST is 00:59 UTC: still inside; 20:00 EST (01:00 UTC) is outside.
    assert WINDOW.next_allowed(utc(2026, 11, 2, 0, 59), NEW_YORK) == utc(2026, 11, 2, 0, 59)
    assert WINDOW.next_allowed(utc(2026, 11, 2, 1, 0), NEW_YORK) == utc(2026, 11, 2, 14, 0)


def test_the_patients_own_zone_decides_not_the_clinics() -> None:
    due = utc(2026, 6, 10, 15, 0)  # 11:00 in New York, 01:00 next day in Sydney
    assert WINDOW.next_allowed(due, SYDNEY) == utc(2026, 6, 10, 23, 0)  # 09:00 AEST


def test_a_window_start_inside_a_skipped_hour_lands_on_the_first_real_moment() -> None:
    window = SendWindow(time(2, 30), time(20))
    # 02:30 does not exist on 8 March 2026 in New York; the first real moment after is 03:30.
    assert window.next_allowed(utc(2026, 3, 8, 5, 0), NEW_YORK) == utc(2026, 3, 8, 7, 30)


def test_the_day_after_in_local_time_across_fall_back() -> None:
    visit = utc(2026, 10, 31, 14, 0)  # 10:00 EDT on Saturday 31 October
    # The check-in at 10:00 local on Sunday 1 November is 15:00 UTC (EST), 25 hours later.
    assert local_moment(1, visit, time(10), NEW_YORK) == utc(2026, 11, 1, 15, 0)


def test_caps_allow_when_nothing_was_sent() -> None:
    now = utc(2026, 6, 10, 15)
    assert Caps(daily=1, weekly=3).next_allowed(now, []) == now


def test_one_a_day_waits_for_the_previous_message_to_be_a_day_old() -> None:
    now = utc(2026, 6, 10, 15)
    sent = [now - timedelta(hours=5)]
    assert Caps(daily=1, weekly=3).next_allowed(now, sent) == now + timedelta(hours=19)


def test_three_a_week_waits_for_the_oldest_of_the_three_to_leave_the_week() -> None:
    now = utc(2026, 6, 10, 15)
    sent = [now - timedelta(days=6), now - timedelta(days=4), now - timedelta(days=2)]
    assert Caps(daily=1, weekly=3).next_allowed(now, sent) == now + timedelta(days=1)


def test_messages_older_than_the_windows_do_not_count() -> None:
    now = utc(2026, 6, 10, 15)
    sent = [now - timedelta(days=8), now - timedelta(days=7, seconds=1)]
    assert Caps(daily=1, weekly=1).next_allowed(now, sent) == now


def test_a_zero_cap_never_allows() -> None:
    now = utc(2026, 6, 10, 15)
    assert Caps(daily=0, weekly=3).next_allowed(now, []) > now + timedelta(days=10_000)
