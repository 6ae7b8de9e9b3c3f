"""The administrators' commands find a person by the one normalised identity (ADR 21): however
the address is typed, and never a look-alike (on PostgreSQL a case-insensitive match took the
dotless ı for an i)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_deactivate_user_finds_the_person_however_the_address_is_typed():
    org = f.organisation(OrganisationKind.TRUST)
    admin = f.person(org, email="admin@example.invalid", system_admin=True)
    person = f.person(org, email="jo.worker@example.invalid")
    call_command("deactivate_user", "  JO.Worker@Example.INVALID ", "--by", "ADMIN@example.invalid",
                 stdout=io.StringIO())
    person.refresh_from_db()
    assert not person.is_active and admin.is_active


def test_deactivate_user_never_takes_a_look_alike_address():
    org = f.organisation(OrganisationKind.TRUST)
    f.person(org, email="admin@example.invalid", system_admin=True)
    person = f.person(org, email="jo.worker@example.invalid")
    with pytest.raises(CommandError, match="No such person"):
        call_command("deactivate_user", "jo.worker@example.\u0131nvalid", "--by", "admin@example.invalid",
                     stdout=io.StringIO())
    person.refresh_from_db()
    assert person.is_active
