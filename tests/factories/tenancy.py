"""Organisations, programmes, people and their memberships. All invented."""

from __future__ import annotations

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

from pause_portal.tenancy.models import (
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    Programme,
)
from pause_portal.tenancy.roles import TRUST_ROLES, OrganisationKind

PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrganisationKind.TRUST
    name = factory.LazyAttributeSequence(lambda o, n: f"Synthetic {OrganisationKind(o.kind).label} {n}")


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"Programme {n}")
    trust = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.TRUST)
    pause_practice = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.PAUSE)
    phase = "scoping"


class PersonFactory(DjangoModelFactory):
    """Someone who can sign in with PASSWORD and, unless `device=False`, a confirmed TOTP device."""

    class Meta:
        model = Person
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@test.invalid")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    is_system_admin = False
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def device(person, create, extracted, **kwargs):
        if create and extracted is not False:
            TOTPDevice.objects.create(user=person, name="test", confirmed=True)


def _two_system_admins() -> list[Person]:
    admins = list(Person.objects.filter(is_system_admin=True).order_by("pk")[:2])
    while len(admins) < 2:
        admins.append(PersonFactory(is_system_admin=True))
    return admins


def side_of(programme: Programme, role) -> Organisation:
    """The organisation whose people hold `role` in `programme`."""
    return programme.trust if role in TRUST_ROLES else programme.pause_practice


class MembershipFactory(DjangoModelFactory):
    """An active membership of someone from the role's side of the programme, asked for by one
    system administrator and confirmed by another (the given world: the grant flow has its own
    tests); `pending=True` leaves it waiting for confirmation."""

    class Meta:
        model = Membership

    class Params:
        admins = factory.LazyFunction(_two_system_admins)
        pending = factory.Trait(status=MembershipStatus.PENDING, confirmed_by=None, confirmed_at=None)

    programme = factory.SubFactory(ProgrammeFactory)
    role = "trust_caseworker"
    person = factory.SubFactory(PersonFactory, organisation=factory.LazyAttribute(
        lambda p: side_of(p.factory_parent.programme, p.factory_parent.role)))
    status = MembershipStatus.ACTIVE
    requested_by = factory.LazyAttribute(lambda m: m.admins[0])
    requested_at = factory.LazyFunction(timezone.now)
    confirmed_by = factory.LazyAttribute(lambda m: m.admins[1])
    confirmed_at = factory.SelfAttribute("requested_at")


def member(programme: Programme, role, **person) -> Person:
    """A new person holding `role` in `programme`."""
    return MembershipFactory(programme=programme, role=role, **{f"person__{k}": v for k, v in person.items()}).person
