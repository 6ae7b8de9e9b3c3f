"""Reminders of the DPIA's review date (issue 23, point 2; ADRs 47 and 48): the provider
`audit.oversight.reminder_providers` lists as "dpia_review".

One `Due` per programme that is not closed and has a review recorded, its item the latest review
(so a new review is a new item: the old one's reminders are cleared, and the new date gets its own
reminders when it comes near). Its stage: "30d" within 30 days of the date, "7d" within 7 days
(the date itself included), "overdue" once it has passed, when releases stop too; "" before that.
Each goes to the register's editors (the programme's Trust leads and DPO) and says only the
programme's name, the date and what to do: no reference, no one's name.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from audit.core.reminders import Due, looks_identifying
from pause_portal import presenting
from pause_portal.tenancy.models import Phase, Programme
from sharing.dpia_register import editors
from sharing.models_dpia import DpiaReview

FIRST_DAYS, LAST_DAYS = 30, 7


def stage_on(today: date, next_review_on: date) -> str:
    days_left = (next_review_on - today).days
    if days_left < 0:
        return "overdue"
    if days_left <= LAST_DAYS:
        return "7d"
    if days_left <= FIRST_DAYS:
        return "30d"
    return ""


def _named(programme: Programme) -> str:
    """The programme's name, unless it carries something a reminder may not ("Cohort 2026" reads
    as a reference to the core's check): then the email names no programme, the link finds it."""
    return "one of your programmes" if looks_identifying(programme.name) else programme.name


def _words(programme: Programme, stage: str, due_on: date) -> tuple[str, str, str]:
    when, name = presenting.day(due_on), _named(programme)
    if stage == "overdue":
        subject = f"The DPIA review of {name} is overdue"
        headline = f"The DPIA review was due on {when}: nothing can be released until it is recorded"
        lead = (f"The review of the data protection impact assessment of {name} was due on {when}. "
                "No release to Pause can be made until a review is recorded.")
    else:
        days = (FIRST_DAYS if stage == "30d" else LAST_DAYS)
        subject = f"The DPIA review of {name} is due within {days} days"
        headline = f"The DPIA review is due on {when}"
        lead = (f"The review of the data protection impact assessment of {name} is due on {when}. "
                "If it passes with no review recorded, no release to Pause can be made.")
    body = (f"{lead}\n\nReview the risks in the DPIA register and record the review, with the date the next one is "
            "due, on the portal's DPIA register page.\n\nSign in to the portal to see it.")
    return subject, body, headline


def dpia_review_due(now: datetime) -> list[Due]:
    """The programmes whose DPIA review date waits, each with the reminder due now (if any)."""
    today = timezone.localdate(now)
    latest = DpiaReview.objects.filter(programme=OuterRef("pk")).order_by("-recorded_at", "-pk")
    programmes = (Programme.objects.exclude(phase=Phase.CLOSED)
                  .annotate(review_pk=Subquery(latest.values("pk")[:1]),
                            due_on=Subquery(latest.values("next_review_on")[:1]))
                  .filter(review_pk__isnull=False).order_by("pk"))
    link = reverse("governance:dpia")
    dues = []
    for programme in programmes:
        stage = stage_on(today, programme.due_on)
        subject, body, headline = _words(programme, stage, programme.due_on) if stage else ("", "", "")
        dues.append(Due(item=f"{DpiaReview._meta.label_lower}:{programme.review_pk}", stage=stage,
                        programme_id=programme.pk, recipients=tuple(editors(programme)) if stage else (),
                        subject=subject, body=body, headline=headline, link=link))
    return dues
