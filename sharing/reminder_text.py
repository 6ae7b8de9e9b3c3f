"""What a reminder's email says around its one sentence (ADR 47): where to look in the portal, and
why the email says so little. Shared by the reminders of issue 23, point 6 (rights requests,
unacknowledged concerns, waiting confirmations) so that every one reads alike.

A reminder names no one and nothing that picks someone out: the programme's name, the kind of
thing, how many days, dates; never a name, a reference of a woman or a request, or an id. The
only link is the path of the portal page that lists the thing (the sweep runs without a request,
so it has no host name to put before it)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

PRIVACY_NOTE = ("For privacy, this email does not say whom or what it is about: only the portal shows that, to the "
                "people who may see it.")


def on_day(value: date) -> str:
    """"7 December 2026"."""
    return f"{value.day} {value:%B %Y}"


def at_time(value: datetime) -> str:
    """"29 December 2026 at 16:00", in London time."""
    local = timezone.localtime(value)
    return f"{on_day(local.date())} at {local:%H:%M}"


def body(sentence: str, *, page: str, link: str) -> str:
    """The email's body: the sentence, where to find the thing, and why no more is said."""
    return (f"{sentence}\n\nSign in to the Pause data-sharing portal to see it: the reminder is on your dashboard, "
            f"and the page \"{page}\" ({link}) lists it.\n\n{PRIVACY_NOTE}\n")


def days(count: int, unit: str = "day") -> str:
    """"1 day", "3 days", "2 working days"."""
    return f"{count} {unit}{'' if count == 1 else 's'}"
