"""Adding a person from the portal, and the one-time set-up link that goes to them by email only
(issue 24, point 1).

The link lets whoever opens it set the account's password and its two-step sign-in (ADR 21). Had
the administrator who added the person seen it, they could have enrolled as that person. So the
page never shows it: the link is made by the Celery task that emails it, after the person is
committed, and it exists only in that task and in the email to the person's own address. It never
passes through the web response, the broker (the task gets ids and the portal's address) or the
database (only its hash is stored, as for every link).

`manage.py add_user` still prints a link, for scripts and for the very first administrator, who
has nobody to email it for them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import AccountLinkPurpose, Organisation, Person
from sharing import actions

SUBJECT, BODY = "emails/set_up_link_subject.txt", "emails/set_up_link_body.txt"
EMAIL_TASK = "sharing.email_set_up_link"


def add_person_and_email_link(*, email: str, full_name: str, organisation: Organisation, by: Person,
                              portal_url: str) -> Person:
    """Add the person (`actions.add_person`) and, once that commits, email them their one-time
    link. `portal_url` is where the portal is served (the link's scheme and host)."""
    with transaction.atomic():
        person = actions.add_person(email=email, full_name=full_name, organisation=organisation, by=by)
        email_new_link_on_commit(person=person, by=by, portal_url=portal_url)
    return person


def email_new_link_on_commit(*, person: Person, by: Person, portal_url: str) -> None:
    """Ask for a new set-up link to be emailed to the person (again: when the first expired
    before they used it). Any earlier unused one stops working when it is made."""
    if not (by.is_active and by.is_system_admin):
        raise PermissionDenied("Only an active system administrator can send sign-in links.")
    send_on_commit(EMAIL_TASK, person.pk, by.pk, portal_url)


def set_up_email(*, link: str) -> tuple[str, str]:
    context = {"link": link, "hours": settings.PORTAL_ACCOUNT_LINK_HOURS[AccountLinkPurpose.SET_PASSWORD],
               "minutes": int(actions.ENROLMENT_WINDOW.total_seconds() // 60)}
    return " ".join(render_to_string(SUBJECT, context).split()), render_to_string(BODY, context)


def email_set_up_link(*, person_id: int, issued_by_id: int, portal_url: str) -> int:
    """Make the one-time link and email it to the person's own address, in one transaction: if the
    mail server refuses, the link is not kept (the task is retried, with a new one). Nothing is
    sent for a person deactivated meanwhile, or when the administrator no longer is one. Returns
    how many emails were sent."""
    person = Person.objects.filter(pk=person_id, is_active=True).first()
    by = Person.objects.filter(pk=issued_by_id, is_active=True, is_system_admin=True).first()
    if person is None or by is None:
        return 0
    with transaction.atomic():
        token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.SET_PASSWORD, by=by)
        subject, body = set_up_email(link=portal_url.rstrip("/") + reverse("accounts:account-link", args=[token]))
        record_event(Event.CHANGE, actor=by, target=person, action=1,
                     reason="one-time set-up link emailed to the person at their own address, and to nobody else")
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email], fail_silently=False)
    return 1
