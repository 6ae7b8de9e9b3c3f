"""Thin tasks: ids in, the actor's role re-checked, an action or a notice out. JSON only."""

from __future__ import annotations

import smtplib

from celery import shared_task

from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from sharing import notices
from sharing.account_emails import tell_person_of_enrolment as tell_enrolment
from sharing.set_up_links import email_set_up_link as email_link


@shared_task(name="sharing.notify_grant_awaiting_confirmation", ignore_result=True)
def notify_grant_awaiting_confirmation(membership_id: int, requested_by_id: int) -> int:
    """Tell the people who may confirm a pending grant that it is waiting. Returns how many were told."""
    requester = Person.objects.filter(pk=requested_by_id, is_active=True, is_system_admin=True).first()
    membership = Membership.objects.filter(pk=membership_id, status=MembershipStatus.PENDING).select_related(
        "programme"
    ).first()
    if requester is None or membership is None or membership.requested_by_id != requester.pk:
        return 0  # the requester lost the role, or the grant was settled meanwhile: nothing to say
    return notices.grant_awaiting_confirmation(membership)


@shared_task(name="sharing.end_scoping_at_deadlines", ignore_result=True, acks_late=True)
def end_scoping_at_deadlines() -> int:
    """Purge the Pause-side scoping data of every programme past its scoping deadline (beat, hourly).
    The deadline itself needs no worker: the disclosure policy reads the clock."""
    from sharing.scoping_purge import end_scoping_at_deadlines as purge

    return len(purge())


@shared_task(name="sharing.tell_person_of_enrolment", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_person_of_enrolment(person_id: int, enrolled_at: str) -> int:
    """Email the person that two-step sign-in was set up on their account (enqueued on commit by
    `sharing.actions.enrol_totp_device`; retried when the mail server fails)."""
    return tell_enrolment(person_id=person_id, enrolled_at=enrolled_at)


@shared_task(name="sharing.email_set_up_link", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def email_set_up_link(person_id: int, issued_by_id: int, portal_url: str) -> int:
    """Make a person's one-time set-up link and email it to them, and only them (enqueued on commit
    by `sharing.set_up_links`; retried, with a new link, when the mail server fails)."""
    return email_link(person_id=person_id, issued_by_id=issued_by_id, portal_url=portal_url)
