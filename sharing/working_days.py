"""Working days in England and Wales (issue 23, point 6; ADR 47): Monday to Friday, except the
bank holidays of the `holidays` package (`country_holidays("GB", subdiv="ENG")`; England and Wales
share them), which knows them offline, substitute days included (Boxing Day 2026, a Saturday, is
observed on Monday 28 December). Never a hand-kept list, never a network call.

"N working days after" a moment is the same local time (Europe/London) on the Nth working day
after the day of that moment, whatever kind of day that was: raised on Friday at 16:00 before a
bank-holiday Monday, one working day later is Tuesday at 16:00; raised on a Saturday at 10:00, it
is Monday at 10:00. The clock time is kept across a change to or from summer time (those changes
fall on Sundays, never a working day)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_after(day: date, count: int) -> date:
    """The `count`th working day after `day` (`day` itself never counts)."""
    if count < 1:
        raise ValueError("Count at least one working day.")
    found = 0
    while found < count:
        day += timedelta(days=1)
        found += is_working_day(day)
    return day


def after_working_days(moment: datetime, count: int) -> datetime:
    """The moment `count` working days after `moment`: the same London clock time on the
    `count`th working day after its London date (an aware datetime, in London time)."""
    local = moment.astimezone(LONDON)
    day = working_days_after(local.date(), count)
    return datetime.combine(day, time(local.hour, local.minute, local.second, local.microsecond), tzinfo=LONDON)
