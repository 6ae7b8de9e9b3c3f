"""Reminders of rights requests as their due date nears (issue 23, point 6; ADR 47).

Every open request is reminded to the programme's DPOs (the active members whose role holds
ANSWER_RIGHTS_REQUESTS, who answer it) at stage "7d" from the day 7 days before its due date,
"1d" from the day before, and "overdue" from the day after it, London dates. The due date is the
request's own `due_on`, which `audit.oversight.rights` sets from `due_dates.due_on` on opening and
moves on each extension: the pages read the same field. A sweep that finds a request past two
stages at once (opened late) sends only the latest.

The item is the request *and its due date*: an extension moves the due date, so the reminders of
the old date are cleared and the new date's are sent in their turn. A request answered, refused or
closed is no longer reported, and the next sweep clears its reminder from the dashboards.

The email and the headline give the programme and the due date: never the request's reference,
its kind (an objection or an erasure says something about her) or anything about the woman."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone

from audit.core.models_rights import RequestStatus, RightsRequest
from audit.core.reminders import Due
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import people_with
from sharing import reminder_text as text

KIND = "rights_due"
PAGE = "Rights requests"
# Stage -> from how many days before the due date it is sent (negative: after it).
STAGES = (("overdue", -1), ("1d", 1), ("7d", 7))


def answerers(programme: Programme) -> tuple[int, ...]:
    return tuple(people_with(programme, Perm.ANSWER_RIGHTS_REQUESTS).values_list("pk", flat=True))


def stage_on(due: date, today: date) -> str:
    """The latest stage due on `today` for a request due on `due`, or ""."""
    left = (due - today).days
    return next((stage for stage, before in STAGES if left <= before), "")


def _words(due: date, today: date) -> tuple[str, str]:
    """(the subject's phrase, the headline's phrase)."""
    left = (due - today).days
    if left < 0:
        return (f"was due on {text.on_day(due)} and is overdue",
                f"A rights request is overdue: it was due on {text.on_day(due)}")
    when = "today" if left == 0 else "tomorrow" if left == 1 else f"in {text.days(left)}"
    return (f"is due {when}, on {text.on_day(due)}", f"A rights request is due {when}: on {text.on_day(due)}")


def rights_due(now: datetime) -> Iterator[Due]:
    """One `Due` for every open request; with its stage once one is due."""
    today = timezone.localdate(now)
    link = reverse("rights:requests")
    people: dict[int, tuple[int, ...]] = {}
    for request in (RightsRequest.objects.filter(status=RequestStatus.OPEN).select_related("programme")
                    .order_by("pk")):
        item = f"audit.rightsrequest:{request.pk}:due:{request.due_on.isoformat()}"
        stage = stage_on(request.due_on, today)
        if not stage:
            yield Due(item=item, programme_id=request.programme_id)
            continue
        programme = request.programme
        if programme.pk not in people:
            people[programme.pk] = answerers(programme)
        phrase, headline = _words(request.due_on, today)
        sentence = (f"A rights request in the programme {programme.name} {phrase}. It is answered by the "
                    f"programme's data protection officer.")
        yield Due(item=item, stage=stage, programme_id=programme.pk, recipients=people[programme.pk],
                  subject=f"Reminder: a rights request in {programme.name} {phrase}",
                  body=text.body(sentence, page=PAGE, link=link), headline=headline, link=link)
