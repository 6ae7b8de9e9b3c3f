"""Reminders of safeguarding concerns nobody has acknowledged (issue 23, point 6; ADR 47).

A concern or serious incident that Pause raised and that the Trust has not acknowledged
`Programme.concern_acknowledge_working_days` working days later (1 by default; 1 to 10, set by the
system administrator with the programme's other settings) is reminded once, at stage "<N>wd", to
everyone who may acknowledge it: the programme's active members whose role holds ANSWER_CONCERNS
(the Trust leads; `sharing.concerns` lets no one else). Working days are those of England and
Wales (`sharing.working_days`): N working days after it was raised is the same London clock time
on the Nth working day after the day it was raised. Once acknowledged (or closed) it is no longer
reported, and the next sweep clears the reminder from the dashboards.

The email and the headline say that a safeguarding matter waits, in which programme and since when
it was due: never the woman, the practitioner, the kind of matter (itself special category) or the
concern's number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.urls import reverse

from audit.core.reminders import Due
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import people_with
from sharing import reminder_text as text
from sharing.models_delivery import ConcernStatus, SafeguardingConcern
from sharing.working_days import after_working_days

KIND = "concern_unacknowledged"
PAGE = "Safeguarding concerns and serious incidents"


def acknowledgers(programme: Programme) -> tuple[int, ...]:
    """Everyone who may acknowledge the programme's concerns (the same permission the action checks)."""
    return tuple(people_with(programme, Perm.ANSWER_CONCERNS).values_list("pk", flat=True))


def acknowledge_by(concern: SafeguardingConcern) -> datetime:
    """When the Trust should have acknowledged it: N working days after it was raised."""
    return after_working_days(concern.raised_at, concern.programme.concern_acknowledge_working_days)


def unacknowledged(now: datetime) -> Iterator[Due]:
    """One `Due` for every concern still waiting for the Trust's acknowledgement; with stage
    "<N>wd" once N working days have passed."""
    link = reverse("casework:concerns")
    people: dict[int, tuple[int, ...]] = {}
    for concern in (SafeguardingConcern.objects.filter(status=ConcernStatus.OPEN).select_related("programme")
                    .order_by("pk")):
        item = f"sharing.safeguardingconcern:{concern.pk}"
        due_at = acknowledge_by(concern)
        if now < due_at:
            yield Due(item=item, programme_id=concern.programme_id)
            continue
        programme = concern.programme
        if programme.pk not in people:
            people[programme.pk] = acknowledgers(programme)
        n = programme.concern_acknowledge_working_days
        waited = text.days(n, "working day")
        sentence = (f"Pause raised a safeguarding matter with the Trust in the programme {programme.name}, and it has "
                    f"not been acknowledged {waited} later: it was due to be acknowledged by {text.at_time(due_at)}. "
                    f"A Trust lead acknowledges it in the portal.")
        yield Due(item=item, stage=f"{n}wd", programme_id=programme.pk, recipients=people[programme.pk],
                  subject=f"Reminder: a safeguarding matter in {programme.name} is not acknowledged after {waited}",
                  body=text.body(sentence, page=PAGE, link=link),
                  headline=f"A safeguarding matter raised by Pause is not acknowledged after {waited}",
                  link=link)
