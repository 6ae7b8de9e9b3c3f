"""No identifying value in plaintext anywhere in the audit tables — after the demo seed too."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from sharing.models import Person
from tests.audit.plaintext import audit_text

pytestmark = pytest.mark.django_db


@override_settings(DEMO=True)
def test_no_plaintext_identifier_in_the_audit_tables_after_the_demo_seed(capsys):
    call_command("seed_demo")
    people = list(Person.objects.all())
    assert len(people) >= 12
    text = audit_text().lower()
    assert text  # the seed was recorded
    for person in people:
        assert person.email.lower() not in text
        assert person.email.split("@")[0].lower() + "@" not in text
        assert person.full_name.lower() not in text
        assert person.full_name.split()[-1].lower() not in text  # the invented surnames are distinctive
    assert "demo-portal-password" not in text


def test_seed_demo_refuses_outside_the_demo():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="PORTAL_ENV=demo"):
        call_command("seed_demo")
