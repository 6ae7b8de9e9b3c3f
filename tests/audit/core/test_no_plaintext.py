"""No identifying value in plaintext anywhere in the audit tables — after the demo seed too —
nor, for the women the demo's synthetic extracts import, anywhere in the eligibility tables."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from eligibility.models import CareEpisode, Child, Extract, LegalStatus, Woman
from pause_portal.tenancy.models import Person
from pseudonymisation.fields import Protector
from tests.audit.plaintext import audit_text

pytestmark = pytest.mark.django_db


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")  # ciphertexts: any plaintext in them would show
    return str(value)


def eligibility_text() -> str:
    parts = []
    with connection.cursor() as cur:
        for model in (Woman, Child, LegalStatus, CareEpisode, Extract):
            cur.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608 - fixed table names
            parts += [" ".join(_text(v) for v in row) for row in cur.fetchall()]
    return "\n".join(parts)


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


@override_settings(DEMO=True)
def test_the_demo_women_are_imported_and_not_in_plaintext_anywhere(capsys):
    call_command("seed_demo")
    assert "synthetic extract imported" in capsys.readouterr().out
    women = list(Woman.objects.order_by("pk"))
    assert len(women) > 100 and Child.objects.exists() and LegalStatus.objects.exists()
    values = set()
    for woman in women[:: max(len(women) // 12, 1)]:
        protector = Protector.load(woman.programme_id, Woman.key_phase)
        values |= {woman.reveal(protector, "surname"), woman.reveal(protector, "nhs_number")}
    values.discard(None)
    assert len(values) > 10
    text = eligibility_text() + "\n" + audit_text()
    assert "WBRI" in text  # the scan sees the imported rows (ethnicity is stored as a code)
    for value in values:  # as the extract spells them: capitalised surnames, ten-digit numbers
        assert value not in text, value


def test_seed_demo_refuses_outside_the_demo():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="PORTAL_ENV=demo"):
        call_command("seed_demo")


@override_settings(DEMO=True)
def test_the_demo_seeds_agreements_and_a_delivery_caseload(capsys):
    from sharing.models_delivery import CaseloadAssignment, ReleasedWoman, SafeguardingConcern
    from sharing.models_scoping import Agreement, ChangeStatus

    call_command("seed_demo")
    assert Agreement.objects.filter(status=ChangeStatus.CONFIRMED).count() == 2
    released = ReleasedWoman.objects.filter(programme__name="Westvale delivery")
    assert released.count() == 8
    assert CaseloadAssignment.objects.filter(ended_at__isnull=True).count() == 7
    assert SafeguardingConcern.objects.count() == 1
    assert "released to Pause" in capsys.readouterr().out
    text = audit_text()
    protector = Protector.load(released[0].programme_id, ReleasedWoman.key_phase)
    for r in released:  # the invented addresses never reach the audit trail
        assert r.reveal(protector, "address") not in text


@override_settings(DEMO=True)
def test_the_demo_shows_every_role_something_a_scoping_release_a_rights_request_and_a_breach(capsys):
    """Issue 24, point 5: Northbrook's Pause lead sees k-checked scoping rows; Westvale's DPO has a
    rights request and a breach (and the Trust lead a concern, above)."""
    from audit.core.models_rights import Breach, RightsRequest
    from sharing.models_scoping import ScopingRelease, ScopingWomanRow

    call_command("seed_demo")
    release = ScopingRelease.objects.get(programme__name="Northbrook scoping")
    served = ScopingWomanRow.objects.filter(release=release, withheld=False).count()
    assert served >= 5 and release.report["served"] == served  # at least one class of k women
    assert RightsRequest.objects.filter(programme__name="Westvale delivery", kind="access").count() == 1
    assert Breach.objects.filter(programme__name="Westvale delivery").count() == 1
    out = capsys.readouterr().out
    assert "released to Pause for scoping" in out and "rights request" in out
