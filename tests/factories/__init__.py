"""Small factories for synthetic people, organisations and programmes. All data is invented."""

from __future__ import annotations

import itertools

from django_otp.plugins.otp_totp.models import TOTPDevice

from pause_portal.tenancy.models import (
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    Programme,
)
from pause_portal.tenancy.roles import OrganisationKind, Role

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def organisation(kind: OrganisationKind = OrganisationKind.TRUST, name: str | None = None) -> Organisation:
    return Organisation.objects.create(name=name or f"Synthetic {kind.label} {next(_seq)}", kind=kind)


def programme(name: str | None = None, phase: str = "scoping", trust=None, pause=None) -> Programme:
    return Programme.objects.create(
        name=name or f"Programme {next(_seq)}",
        trust=trust or organisation(OrganisationKind.TRUST),
        pause_practice=pause or organisation(OrganisationKind.PAUSE),
        phase=phase,
    )


def person(org: Organisation, *, email: str | None = None, system_admin: bool = False, with_device: bool = True) -> Person:
    n = next(_seq)
    p = Person(email=email or f"person{n}@test.invalid", full_name=f"Test Person {n}", organisation=org,
               is_system_admin=system_admin)
    p.set_password(PASSWORD)
    p.save()
    if with_device:
        TOTPDevice.objects.create(user=p, name="test", confirmed=True)
    return p


def membership(p: Person, prog: Programme, role: Role) -> Membership:
    """An active membership, asked for by one system administrator and confirmed by another
    (fixtures are the given world; the grant flow has its own tests)."""
    from django.utils import timezone

    admins = list(Person.objects.filter(is_system_admin=True).order_by("pk")[:2])
    while len(admins) < 2:
        admins.append(person(organisation(OrganisationKind.TRUST), system_admin=True))
    now = timezone.now()
    return Membership.objects.create(
        person=p, programme=prog, role=role, status=MembershipStatus.ACTIVE,
        requested_by=admins[0], requested_at=now, confirmed_by=admins[1], confirmed_at=now,
    )
