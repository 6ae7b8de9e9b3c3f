import pytest
from django.urls import reverse

from pause_portal.tenancy.roles import Role

pytestmark = pytest.mark.django_db

EXPECTED_HEADINGS = {
    "caseworker": Role.TRUST_CASEWORKER.label,
    "trust_lead": Role.TRUST_LEAD.label,
    "caldicott": Role.CALDICOTT_GUARDIAN.label,
    "dpo": Role.DPO.label,
    "pause_lead": Role.PAUSE_LEAD.label,
    "practitioner": Role.PAUSE_PRACTITIONER.label,
    "system_admin": Role.SYSTEM_ADMIN.label,
}


@pytest.mark.parametrize("actor", sorted(EXPECTED_HEADINGS))
def test_each_role_sees_its_own_dashboard_with_header_context(actor, actors, as_person, programme):
    person = actors[actor]
    response = as_person(person).get(reverse("dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"<h1 class=\"govuk-heading-l\">{EXPECTED_HEADINGS[actor]}</h1>" in body
    assert person.organisation.name.replace("'", "&#x27;") in body
    if actor != "system_admin":
        assert programme.name in body
        assert "Scoping" in body
    assert response["Cache-Control"] == "no-store, max-age=0"


def test_programme_switcher_offers_only_own_programmes(as_person, pause_lead, programme, other_programme):
    from tests import factories as f

    third = f.programme(name="Third programme", pause=programme.pause_practice)
    f.membership(pause_lead, third, Role.PAUSE_LEAD)
    client = as_person(pause_lead)
    body = client.get(reverse("dashboard")).content.decode()
    assert "Switch programme" in body and "Third programme" in body and "Other programme" not in body
    assert client.post(reverse("choose-programme"), {"programme": third.pk}).status_code == 302
    assert "<dd>Third programme</dd>" in client.get(reverse("dashboard")).content.decode()
    assert client.post(reverse("choose-programme"), {"programme": other_programme.pk}).status_code == 404


def test_pages_showing_staff_details_record_whom_they_showed(as_person, trust_lead, caseworker, programme):
    from audit.core.models import AuditEntry, AuditSubject, Event

    as_person(trust_lead).get(reverse("dashboard"))
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=trust_lead).latest("id")
    shown = set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True))
    assert {f"sharing.person:{trust_lead.pk}", f"sharing.person:{caseworker.pk}"} <= shown
    assert entry.programme == programme and entry.role == "trust_lead"


def test_people_are_never_deleted(caseworker):
    from django.core.exceptions import PermissionDenied

    from pause_portal.tenancy.models import Person

    with pytest.raises(PermissionDenied):
        caseworker.delete()
    with pytest.raises(PermissionDenied):
        Person.objects.filter(pk=caseworker.pk).delete()
