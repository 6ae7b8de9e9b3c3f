"""Search and filters on the lists (issue 24, point 4): the Pause lead's released women, the
practitioner's caseload, the concerns list and the People page. Each filter lists only the
matching rows; a search by name is posted (never in the address), not shown back, not in the
audit trail, and finds only someone the page would list anyway: never another role's woman."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, AuditSubject, Event
from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import OrganisationKind, Role
from sharing.concerns import close_concern, raise_concern
from sharing.models_delivery import ConcernKind, Participation, ReleasedWoman
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.test_delivery_pages import reveal
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db

WOMEN, CASELOAD = reverse("delivery:women"), reverse("delivery:caseload")


def as_(person):
    return sign_in_verified(Client(), person)


def names_on(response) -> str:
    return response.content.decode()


def name_of(released: ReleasedWoman) -> str:
    return f"{reveal(released.woman, 'forename')} {reveal(released.woman, 'surname')}"


def row_ids(response, prefix: str = "released-") -> set[int]:
    import re

    return {int(n) for n in re.findall(rf'id="{prefix}(\d+)"', names_on(response))}


@pytest.fixture
def world():
    w = delivery_world(women=3)
    a, b, c = w.released
    w.assign(a, w.practitioners[0])
    w.assign(b, w.practitioners[1])
    ReleasedWoman.objects.filter(pk=c.pk).update(participation=Participation.NOT_REACHED)
    return w


# --- the Pause lead's released women ---------------------------------------------------------------
def test_women_filter_by_participation_and_practitioner(world):
    a, b, c = world.released
    lead = as_(world.pause_lead)
    assert row_ids(lead.get(WOMEN)) == {a.pk, b.pk, c.pk}
    assert row_ids(lead.get(WOMEN, {"participation": Participation.NOT_REACHED})) == {c.pk}
    assert row_ids(lead.get(WOMEN, {"participation": Participation.AGREED})) == set()
    assert row_ids(lead.get(WOMEN, {"practitioner": world.practitioners[1].pk})) == {b.pk}
    assert row_ids(lead.get(WOMEN, {"practitioner": "none"})) == {c.pk}
    both = lead.get(WOMEN, {"practitioner": world.practitioners[0].pk, "participation": Participation.NOT_CONTACTED})
    assert row_ids(both) == {a.pk} and "1 result with the filters chosen" in names_on(both)


def test_women_bad_filter_says_what_is_wrong():
    w = delivery_world(women=1)
    response = as_(w.pause_lead).get(WOMEN, {"participation": "nonsense"})
    assert response.status_code == 400
    assert "Select a participation from the list" in names_on(response)
    assert "Select a valid choice" not in names_on(response)


def test_women_search_by_name_is_posted_and_finds_only_her(world):
    a, b, c = world.released
    lead = as_(world.pause_lead)
    surname = reveal(b.woman, "surname")
    response = lead.post(WOMEN, {"name": surname.upper()})
    assert response.status_code == 200 and row_ids(response) == {b.pk}
    assert f'value="{surname.upper()}"' not in names_on(response)  # not shown back
    # part of a name, two words in any order
    forename = reveal(b.woman, "forename")
    assert row_ids(lead.post(WOMEN, {"name": f"{surname[:5]} {forename}"})) == {b.pk}
    # with the filters in the query string, both apply
    assert row_ids(lead.post(WOMEN + f"?practitioner={world.practitioners[0].pk}", {"name": surname})) == set()
    # an empty search lists everyone again
    assert row_ids(lead.post(WOMEN, {"name": "  "})) == {a.pk, b.pk, c.pk}


def test_a_search_is_in_no_audit_entry_and_the_entry_says_it_was_searched(world):
    b = world.released[1]
    surname = reveal(b.woman, "surname")
    before = AuditEntry.objects.count()
    as_(world.pause_lead).post(WOMEN, {"name": surname})
    new = AuditEntry.objects.filter(pk__gt=0).order_by("-pk")[: AuditEntry.objects.count() - before]
    for entry in new:
        text = " ".join(str(v) for v in (entry.reason, entry.object_repr, entry.page, entry.changes))
        assert surname not in text and surname.lower() not in text.lower()
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=world.pause_lead).latest("pk")
    assert entry.reason == "released women list, searched by name"


def test_the_pause_lead_cannot_find_a_woman_the_trust_has_not_released(world):
    unreleased = world.women(1)[0]
    surname = reveal(unreleased, "surname")
    response = as_(world.pause_lead).post(WOMEN, {"name": surname})
    assert response.status_code == 200 and row_ids(response) == set()
    assert surname not in names_on(response) and 'id="no-match"' in names_on(response)
    assert not AuditSubject.objects.filter(entry__actor=world.pause_lead,
                                           subject=f"eligibility.woman:{unreleased.pk}").exists()


def test_the_search_is_not_in_the_address():
    w = delivery_world(women=1)
    page = names_on(as_(w.pause_lead).get(WOMEN))
    assert '<form method="post" action="/delivery/women/"' in page and 'name="name"' in page


# --- the practitioner's caseload -------------------------------------------------------------------
def test_caseload_search_never_finds_another_practitioners_woman(world):
    a, b, c = world.released
    mine = as_(world.practitioners[0])
    assert row_ids(mine.post(CASELOAD, {"name": reveal(a.woman, "surname")})) == {a.pk}
    response = mine.post(CASELOAD, {"name": reveal(b.woman, "surname")})
    assert response.status_code == 200 and row_ids(response) == set()
    assert reveal(b.woman, "surname") not in names_on(response) and 'id="no-match"' in names_on(response)


def test_caseload_filter_by_participation(world):
    a, b, c = world.released
    world.assign(c, world.practitioners[0])
    mine = as_(world.practitioners[0])
    assert row_ids(mine.get(CASELOAD)) == {a.pk, c.pk}
    assert row_ids(mine.get(CASELOAD, {"participation": Participation.NOT_REACHED})) == {c.pk}
    assert row_ids(mine.get(CASELOAD, {"participation": Participation.DECLINED})) == set()


# --- concerns --------------------------------------------------------------------------------------
CONCERNS = reverse("casework:concerns")


def test_concerns_filter_by_status_and_kind_and_search_by_who_raised_it(world):
    a, b, c = world.released
    first = raise_concern(a, by=world.practitioners[0], kind=ConcernKind.SAFEGUARDING, summary="Synthetic one")
    second = raise_concern(b, by=world.practitioners[1], kind=ConcernKind.SERIOUS_INCIDENT, summary="Synthetic two")
    close_concern(second, by=world.trust_lead, closing_note="Synthetic note")
    lead = as_(world.trust_lead)
    link = lambda c: f'href="{reverse("casework:concern", args=[c.pk])}"'  # noqa: E731
    page = names_on(lead.get(CONCERNS))
    assert link(first) in page and link(second) in page
    page = names_on(lead.get(CONCERNS, {"status": "closed"}))
    assert link(first) not in page and link(second) in page
    page = names_on(lead.get(CONCERNS, {"kind": ConcernKind.SAFEGUARDING}))
    assert link(first) in page and link(second) not in page
    page = names_on(lead.post(CONCERNS, {"name": world.practitioners[1].full_name}))
    assert link(first) not in page and link(second) in page
    # the practitioner sees only concerns about women in their view, whatever they search for
    page = names_on(as_(world.practitioners[0]).post(CONCERNS, {"name": world.practitioners[1].full_name}))
    assert link(first) not in page and link(second) not in page


# --- people ----------------------------------------------------------------------------------------
PEOPLE = reverse("people:list")


def test_people_filters_and_search():
    trust = f.organisation(OrganisationKind.TRUST, name="Synthetic Trust A")
    pause = f.organisation(OrganisationKind.PAUSE, name="Synthetic Pause B")
    programme = f.programme(trust=trust, pause=pause)
    admin = f.person(trust, system_admin=True)
    lead = f.person(trust)
    f.membership(lead, programme, Role.TRUST_LEAD)
    practitioner = f.person(pause)
    f.membership(practitioner, programme, Role.PAUSE_PRACTITIONER)
    gone = f.person(pause)
    gone.is_active = False
    gone.deactivated_at = gone.date_joined
    gone.save()
    revoked = f.person(trust)
    f.membership(revoked, programme, Role.TRUST_CASEWORKER)
    Membership.objects.filter(person=revoked).update(status=MembershipStatus.REVOKED, revoked_at=revoked.date_joined,
                                                     revoked_by=admin)
    client = as_(admin)

    def listed(response) -> set[int]:
        return row_ids(response, "person-")

    everyone = set(Person.objects.values_list("pk", flat=True))
    assert {admin.pk, lead.pk, practitioner.pk, gone.pk, revoked.pk} <= everyone
    assert listed(client.get(PEOPLE)) == everyone
    assert listed(client.get(PEOPLE, {"organisation": pause.pk})) == set(
        Person.objects.filter(organisation=pause).values_list("pk", flat=True)) >= {practitioner.pk, gone.pk}
    assert lead.pk not in listed(client.get(PEOPLE, {"organisation": pause.pk}))
    assert listed(client.get(PEOPLE, {"role": Role.TRUST_LEAD})) == {lead.pk}
    assert listed(client.get(PEOPLE, {"role": Role.TRUST_CASEWORKER})) == set()  # a revoked role is no role
    assert listed(client.get(PEOPLE, {"role": Role.SYSTEM_ADMIN})) == set(
        Person.objects.filter(is_system_admin=True).values_list("pk", flat=True)) >= {admin.pk}
    assert listed(client.get(PEOPLE, {"status": "deactivated"})) == {gone.pk}
    active_pause = listed(client.get(PEOPLE, {"status": "active", "organisation": pause.pk}))
    assert practitioner.pk in active_pause and gone.pk not in active_pause
    assert listed(client.post(PEOPLE, {"name": practitioner.full_name.lower()})) == {practitioner.pk}
    assert listed(client.post(PEOPLE, {"name": lead.email})) == {lead.pk}
    response = client.post(PEOPLE, {"name": "x" * 101})
    assert response.status_code == 400 and "The name must be 100 characters or fewer" in names_on(response)
    # only the people listed are recorded as shown
    client.post(PEOPLE, {"name": lead.email})
    entry = AuditEntry.objects.filter(actor=admin, reason="staff details").latest("pk")
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"sharing.person:{lead.pk}"}


def test_a_search_with_more_matches_than_a_page_shows_the_first_and_no_address_to_page_on(monkeypatch):
    from sharing.views import delivery_pause

    monkeypatch.setattr(delivery_pause, "PER_PAGE", 2)
    w = delivery_world(women=3)
    response = as_(w.pause_lead).post(WOMEN, {"name": "Quorrington"})  # the cohort's surnames all have it
    assert len(row_ids(response)) == 2 and 'id="first-matches"' in names_on(response)
    assert "?page=2" not in names_on(response)
    assert "?page=2" in names_on(as_(w.pause_lead).get(WOMEN))
