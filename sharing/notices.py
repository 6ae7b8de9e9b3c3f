"""Emails. They carry no identifier and no token: only that something is waiting in the portal."""

from __future__ import annotations

from django.core.mail import send_mass_mail
from django.db.models import Q

from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import Role


def confirmers_of(membership: Membership) -> list[Person]:
    return list(
        Person.objects.filter(is_active=True)
        .filter(
            Q(is_system_admin=True)
            | Q(
                memberships__programme_id=membership.programme_id,
                memberships__role=Role.CALDICOTT_GUARDIAN,
                memberships__status=MembershipStatus.ACTIVE,
            )
        )
        .exclude(pk__in=[membership.requested_by_id, membership.person_id])
        .distinct()
    )


def grant_awaiting_confirmation(membership: Membership) -> int:
    subject = "A role grant is waiting for your confirmation"
    body = (
        f"A role grant in the programme {membership.programme.name} is waiting for a second person "
        "to confirm it.\n\nSign in to the Pause data-sharing portal to review it.\n"
    )
    recipients = confirmers_of(membership)
    send_mass_mail([(subject, body, None, [p.email]) for p in recipients], fail_silently=False)
    return len(recipients)
