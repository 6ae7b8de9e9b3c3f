"""Factories for synthetic test data (factory_boy; names and dates from Faker, en_GB, seeded per
test by tests/conftest.py). All data is invented.

`organisation`, `programme`, `person` and `membership` are the short names most tests use."""

from __future__ import annotations

import factory.random

from pause_portal.tenancy.models import Membership, Organisation, Person, Programme
from pause_portal.tenancy.roles import OrganisationKind, Role
from tests.factories.casedata import (
    CareEpisodeFactory,
    ChildFactory,
    ExtractFactory,
    LegalStatusFactory,
    WomanFactory,
    latest_extract,
)
from tests.factories.sharing import (
    BASES,
    AgreementFactory,
    ContactAttemptFactory,
    SafeguardingConcernFactory,
    ScopingChildRowFactory,
    ScopingReleaseFactory,
    ScopingWomanRowFactory,
    dpia_review_in_date,
)
from tests.factories.tenancy import (
    PASSWORD,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    ProgrammeFactory,
    member,
)

__all__ = [
    "BASES",
    "PASSWORD", "AgreementFactory", "CareEpisodeFactory", "ChildFactory", "ContactAttemptFactory", "ExtractFactory",
    "LegalStatusFactory", "MembershipFactory", "OrganisationFactory", "PersonFactory", "ProgrammeFactory",
    "SafeguardingConcernFactory", "ScopingChildRowFactory", "ScopingReleaseFactory", "ScopingWomanRowFactory",
    "WomanFactory", "dpia_review_in_date", "latest_extract", "member", "membership", "organisation", "person", "programme", "reseed",
]


def reseed() -> None:
    """Start Faker (and factory_boy's fuzzy values) from the same seed: what follows is invented
    the same way on every run."""
    factory.random.reseed_random("pause-portal-tests")


def organisation(kind: OrganisationKind = OrganisationKind.TRUST, name: str | None = None) -> Organisation:
    return OrganisationFactory(kind=kind, **({"name": name} if name else {}))


def programme(name: str | None = None, phase: str = "scoping", trust=None, pause=None) -> Programme:
    given = {"name": name, "trust": trust, "pause_practice": pause}
    return ProgrammeFactory(phase=phase, **{k: v for k, v in given.items() if v is not None})


def person(org: Organisation, *, email: str | None = None, system_admin: bool = False,
           with_device: bool = True) -> Person:
    return PersonFactory(organisation=org, is_system_admin=system_admin, device=with_device,
                         **({"email": email} if email else {}))


def membership(p: Person, prog: Programme, role: Role) -> Membership:
    return MembershipFactory(person=p, programme=prog, role=role)
