"""The clocks of people's rights: a request's due date and a breach's 72 hours.

A request is due one calendar month after the day it was received: the same day of the next
month, or that month's last day when it has no such day (31 January -> 28 or 29 February). The
DPO may extend it by up to two further months (UK GDPR Art. 12(3)), counted from the day it was
received in the same way. A personal data breach that is likely to result in a risk must be
reported to the ICO within 72 hours of the controller becoming aware of it (Art. 33(1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from sharing.scoping_term import add_months

ANSWER_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
ICO_HOURS = 72


def due_on(received_on: date, extension_months: int = 0) -> date:
    """The day a request received on `received_on` is due, after `extension_months` of extension."""
    return add_months(received_on, ANSWER_MONTHS + extension_months)


def days_left(due: date, today: date | None = None) -> int:
    """Days until the due date (0 on the day; negative once overdue)."""
    return (due - (today or timezone.localdate())).days


def ico_deadline(aware_at: datetime) -> datetime:
    """72 hours from when the controller became aware (`Breach.aware_at`), not from when it was
    found or a form was filed."""
    return aware_at + timedelta(hours=ICO_HOURS)


@dataclass(frozen=True)
class IcoClock:
    """Where a breach stands against the 72 hours."""

    deadline: datetime
    told_at: datetime | None
    remaining: timedelta  # until the deadline, from now (negative: past it); zero once told

    @property
    def told(self) -> bool:
        return self.told_at is not None

    @property
    def overdue(self) -> bool:
        return self.remaining < timedelta(0) if not self.told else self.told_at > self.deadline

    @property
    def told_within(self) -> bool:
        return self.told and self.told_at <= self.deadline

    def describe(self) -> str:
        """For a page: "41 hours 12 minutes left", "5 hours 3 minutes overdue", "told in time"."""
        if self.told:
            return "ICO told within 72 hours" if self.told_within else "ICO told after the 72 hours"
        return f"{_hours_minutes(abs(self.remaining))} {'overdue' if self.overdue else 'left'}"


def ico_clock(aware_at: datetime, told_at: datetime | None = None, now: datetime | None = None) -> IcoClock:
    deadline = ico_deadline(aware_at)
    remaining = timedelta(0) if told_at else deadline - (now or timezone.now())
    return IcoClock(deadline=deadline, told_at=told_at, remaining=remaining)


def _hours_minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} hour{'s' if hours != 1 else ''} {minutes} minute{'s' if minutes != 1 else ''}"
