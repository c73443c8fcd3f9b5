"""SLA clocks in working days.

Theory of operation: a deadline of N working days is the end (23:59:59 WIB) of the N-th working day
after the day the clock started, so "3 hari kerja" reads the way SP4N-LAPOR! counts it: a message
on Friday afternoon is due at the end of Wednesday. Working days are Monday to Friday minus the
``Holiday`` table (national holidays and cuti bersama, edited by administrators).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def holidays() -> frozenset[dt.date]:
    from .models import Holiday

    return frozenset(Holiday.objects.values_list("date", flat=True))


def is_working_day(day: dt.date, holiday_dates: Iterable[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holiday_dates


def add_working_days(start: dt.datetime, days: int, holiday_dates: frozenset[dt.date] | None = None) -> dt.datetime:
    """The end of the ``days``-th working day after ``start``'s date (WIB), as an aware datetime."""
    if holiday_dates is None:
        holiday_dates = holidays()
    day = start.astimezone(WIB).date()
    counted = 0
    # Bounded: a calendar with a year of holidays must not spin forever.
    for _ in range(days * 7 + 400):
        if counted >= days:
            break
        day += dt.timedelta(days=1)
        if is_working_day(day, holiday_dates):
            counted += 1
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=WIB)


def working_days_between(start: dt.datetime, end: dt.datetime, holiday_dates: frozenset[dt.date]) -> int:
    """Working days after ``start``'s date up to and including ``end``'s date (for reports)."""
    day = start.astimezone(WIB).date()
    last = end.astimezone(WIB).date()
    n = 0
    while day < last:
        day += dt.timedelta(days=1)
        if is_working_day(day, holiday_dates):
            n += 1
    return n
