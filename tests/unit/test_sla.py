"""SLA due times on a fixed calendar, each checked against a hand computation (New York, Monday to Friday
09:00-17:00, US federal holidays; London for a change of clocks)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.support.sla import Calendar, add_business_time, business_time, clock, due_at, format_duration, running_time

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
DESK = Calendar(zone=NY, holiday_country="US")
H = timedelta(hours=1)


def ny(day: str, at: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=NY)


def test_a_friday_evening_ticket_is_due_on_monday() -> None:
    # Fri 4 Dec 2026 18:30, after closing: nothing runs until Mon 09:00; 4 h later is Mon 13:00.
    assert due_at(DESK, ny("2026-12-04", "18:30"), 4 * H) == ny("2026-12-07", "13:00")
    # Fri 15:00: 2 h on Friday (15-17), the other 2 h on Monday 09-11.
    assert due_at(DESK, ny("2026-12-04", "15:00"), 4 * H) == ny("2026-12-07", "11:00")


def test_a_weekend_ticket_starts_counting_on_monday_morning() -> None:
    # Sat 5 Dec 10:00 with 8 h: the whole of Monday, due at Monday's closing time.
    assert due_at(DESK, ny("2026-12-05", "10:00"), 8 * H) == ny("2026-12-07", "17:00")
    # 9 h: one more hour on Tuesday.
    assert due_at(DESK, ny("2026-12-06", "23:59"), 9 * H) == ny("2026-12-08", "10:00")


def test_public_holidays_are_skipped() -> None:
    # Thu 24 Dec 15:00 with 8 h: 2 h on Thursday, Christmas Day (Fri) and the weekend closed, 6 h on Mon 28 → 15:00.
    assert DESK.holiday(ny("2026-12-25", "12:00").date()) == "Christmas Day"
    assert due_at(DESK, ny("2026-12-24", "15:00"), 8 * H) == ny("2026-12-28", "15:00")
    # Wed 25 Nov 16:00 with 4 h: 1 h on Wednesday, Thanksgiving (Thu 26) closed, 3 h on Fri 27 → 12:00.
    assert due_at(DESK, ny("2026-11-25", "16:00"), 4 * H) == ny("2026-11-27", "12:00")
    # Without holidays, the same ticket is due on Thursday.
    assert due_at(Calendar(zone=NY), ny("2026-11-25", "16:00"), 4 * H) == ny("2026-11-26", "12:00")


def test_a_pause_stops_the_clock_and_a_resume_restarts_it() -> None:
    # Mon 7 Dec 10:00 with 8 h; waiting on the customer from 12:00 until Tue 11:00: 2 h used, 6 h from Tue 11:00 →
    # 17:00 Tuesday.
    pauses = [(ny("2026-12-07", "12:00"), ny("2026-12-08", "11:00"))]
    assert due_at(DESK, ny("2026-12-07", "10:00"), 8 * H, pauses) == ny("2026-12-08", "17:00")
    # Resumed Mon 20:00, after closing: the remaining 6 h start Tue 09:00 → Tue 15:00.
    evening = [(ny("2026-12-07", "12:00"), ny("2026-12-07", "20:00"))]
    assert due_at(DESK, ny("2026-12-07", "10:00"), 8 * H, evening) == ny("2026-12-08", "15:00")
    # Two pauses: 10-11 (1 h used), 11-13 paused, 13-14 (2 h used), 14-Tue 09:30 paused; 6 h from Tue 09:30 → 15:30.
    two = [(ny("2026-12-07", "11:00"), ny("2026-12-07", "13:00")), (ny("2026-12-07", "14:00"), ny("2026-12-08", "09:30"))]
    assert due_at(DESK, ny("2026-12-07", "10:00"), 8 * H, two) == ny("2026-12-08", "15:30")


def test_while_paused_there_is_no_due_time_and_the_clock_says_what_is_left() -> None:
    start, paused = ny("2026-12-07", "10:00"), ny("2026-12-07", "12:00")
    assert due_at(DESK, start, 8 * H, [(paused, None)]) is None
    state = clock(DESK, start, 8 * H, [(paused, None)], None, ny("2026-12-09", "12:00"))
    assert (state.paused, state.used, state.remaining, state.breached) == (True, 2 * H, 6 * H, False)


def test_a_pause_after_the_due_time_does_not_move_it() -> None:
    pauses = [(ny("2026-12-07", "14:00"), ny("2026-12-08", "10:00"))]
    assert due_at(DESK, ny("2026-12-07", "10:00"), H, pauses) == ny("2026-12-07", "11:00")


def test_a_clock_is_breached_once_its_running_time_passes_the_target() -> None:
    start = ny("2026-12-04", "16:00")  # Friday: 1 h on Friday, then Monday
    assert not clock(DESK, start, 2 * H, [], None, ny("2026-12-07", "09:59")).breached
    late = clock(DESK, start, 2 * H, [], None, ny("2026-12-07", "10:01"))
    assert late.breached and late.due_at == ny("2026-12-07", "10:00") and late.remaining == timedelta()
    met = clock(DESK, start, 2 * H, [], ny("2026-12-07", "09:30"), ny("2026-12-09", "12:00"))
    assert not met.breached and met.used == timedelta(minutes=90), "a met clock stops"


def test_a_change_of_clocks_is_counted_in_local_hours() -> None:
    # London moves to summer time on Sun 29 Mar 2026. Fri 27 Mar 16:00 GMT with 2 h: 1 h on Friday, then Monday
    # 09:00 BST (08:00 UTC) + 1 h → 09:00 UTC.
    desk = Calendar(zone=LONDON, holiday_country="GB", holiday_subdivision="ENG")
    assert due_at(desk, datetime(2026, 3, 27, 16, tzinfo=UTC), 2 * H) == datetime(2026, 3, 30, 9, tzinfo=UTC)
    # Boxing Day (observed) on Mon 28 Dec 2026 in England: Thu 24 Dec 16:00 + 2 h → Tue 29 Dec 10:00.
    assert due_at(desk, datetime(2026, 12, 24, 16, tzinfo=LONDON), 2 * H) == datetime(2026, 12, 29, 10, tzinfo=LONDON)


def test_business_time_between_instants_and_its_inverse() -> None:
    friday, tuesday = ny("2026-12-04", "16:00"), ny("2026-12-08", "10:00")
    assert business_time(DESK, friday, tuesday) == 10 * H  # 1 h Friday + 8 h Monday + 1 h Tuesday
    assert add_business_time(DESK, friday, 10 * H) == tuesday
    pauses = [(ny("2026-12-07", "09:00"), ny("2026-12-07", "13:00"))]
    assert running_time(DESK, friday, tuesday, pauses) == 6 * H
    night_desk = Calendar(zone=NY, work_days=frozenset({6, 7}), opens=time(22), closes=time(23))
    assert due_at(night_desk, ny("2026-12-04", "12:00"), 2 * H) == ny("2026-12-06", "23:00")


def test_a_calendar_that_never_opens_is_refused() -> None:
    closed = Calendar(zone=NY, work_days=frozenset())
    with pytest.raises(ValueError, match="no working time"):
        due_at(closed, ny("2026-12-04", "12:00"), H)


def test_durations_read_as_words() -> None:
    assert [format_duration(d) for d in (timedelta(minutes=45), 2 * H + timedelta(minutes=30), 26 * H, timedelta())] == [
        "45 min",
        "2 h 30 min",
        "1 d 2 h",
        "0 min",
    ]
