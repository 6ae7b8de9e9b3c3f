"""Telling a person that two-step sign-in was set up on their account (issue 17, finding 4).

Sent after every enrolment to the person's own address, and to nobody else: someone who enrolled
their own device on a stolen password is found out by the account's owner. The email carries no
identifier beyond the address it goes to (no name, no device, no network address, no link): when
it happened, and what to do if it was not them.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person

SUBJECT, BODY = "emails/mfa_enrolled_subject.txt", "emails/mfa_enrolled_body.txt"


def enrolment_email(*, enrolled_at: datetime) -> tuple[str, str]:
    context = {"enrolled_at": timezone.localtime(enrolled_at)}
    return " ".join(render_to_string(SUBJECT, context).split()), render_to_string(BODY, context)


def tell_person_of_enrolment(*, person_id: int, enrolled_at: str) -> int:
    """Email the person that two-step sign-in was set up at `enrolled_at` (ISO 8601). Sent even if
    the account was deactivated meanwhile: it is still their account. Returns how many were told."""
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        return 0
    subject, body = enrolment_email(enrolled_at=datetime.fromisoformat(enrolled_at))
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email], fail_silently=False)
    record_event(Event.CHANGE, target=person, action=1,
                 reason="two-step sign-in set up: the person told by email at their own address")
    return 1
