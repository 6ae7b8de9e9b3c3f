"""A person search in the access review is made for an open rights request about the woman it finds,
or for a free-text reason (an investigation) — ADR 16. With a request: recorded with it, the
audit entry's reason names its reference, and the search must find exactly her (anyone else, or
nobody, is refused with nothing recorded and without saying who she is). A closed request, or
another programme's, is neither offered nor accepted. The Caldicott Guardian's report names the
request. The rights request page starts the same search for its woman. All data is synthetic."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from audit.core.models_review import ReviewKind, ReviewSearch
from audit.core.models_rights import RequestStatus
from audit.oversight import rights
from audit.oversight.review_actions import ReviewRefused, record_review
from pause_portal.tenancy.roles import OrganisationKind, Role
from tests import factories as f
from tests.audit.oversight.test_review_person_report import identifiers
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


def person_search(client, value: str, *, request=None, reason: str = "", kind: str = "person_id"):
    return client.post(reverse("dpo:person-search"), {
        "person-kind": kind, "person-value": value, "person-reason": reason,
        "person-rights_request": "" if request is None else str(request.pk)})


def searches() -> int:
    return AuditEntry.objects.filter(event=Event.REVIEW_SEARCH).count()


@pytest.fixture
def w():
    return rights_world(women=2)


def test_a_search_for_an_open_request_is_recorded_with_it(w):
    rr = w.request("access")
    her = w.delivery.released[0].woman
    client = sign_in_verified(Client(), w.dpo)
    home = client.get(reverse("dpo:home")).content.decode()
    assert f'<option value="{rr.pk}">{rr.reference} (due' in home

    response = person_search(client, identifiers(her)["nhs_number"], kind="nhs_number", request=rr)
    search = ReviewSearch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dpo:search", kwargs={"pk": search.pk})
    assert search.rights_request == rr and search.reason == "" and search.kind == ReviewKind.PERSON_SEARCH
    assert f"eligibility.woman:{her.pk}" in search.subjects
    entry = AuditEntry.objects.get(pk=search.entry_id)
    assert entry.reason == f"Search by person: rights request {rr.reference}"
    assert list(entry.subjects.values_list("subject", flat=True)) == [f"eligibility.woman:{her.pk}"]
    page = client.get(response["Location"]).content.decode()
    assert f"Rights request {rr.reference}" in page and reverse("rights:request", args=[rr.pk]) in page


def test_a_request_and_a_note_are_both_kept(w):
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    person_search(client, identifiers(rr.woman)["trust_person_id"], request=rr, reason="Checking the pack")
    search = ReviewSearch.objects.get()
    assert search.reason == "Checking the pack" and search.rights_request == rr
    assert AuditEntry.objects.get(pk=search.entry_id).reason == (
        f"Search by person: rights request {rr.reference}; Checking the pack")


@pytest.mark.parametrize("value", ["other woman", "nobody"])
def test_a_search_that_does_not_find_the_requests_woman_is_refused_and_not_recorded(w, value):
    rr = w.request("access", 0)
    her, other = (r.woman for r in w.delivery.released)
    typed = identifiers(other)["trust_person_id"] if value == "other woman" else "TPID-NOBODY-1"
    client = sign_in_verified(Client(), w.dpo)
    before = searches()
    response = person_search(client, typed, request=rr, reason="Checking")
    body = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in body
    assert f"This search does not match the person request {rr.reference} is about" in body
    assert 'href="#id_person-rights_request"' in body
    assert not any(v and v in body for v in identifiers(her).values())  # never says who she is
    assert not ReviewSearch.objects.exists() and searches() == before


def test_a_closed_request_is_neither_offered_nor_accepted(w):
    rr = w.request("access")
    rights.close(rr, status=RequestStatus.COMPLETED, note="Pack sent", by=w.dpo)
    client = sign_in_verified(Client(), w.dpo)
    home = client.get(reverse("dpo:home")).content.decode()
    assert 'name="person-rights_request"' in home and rr.reference not in home
    before = searches()
    response = person_search(client, identifiers(rr.woman)["trust_person_id"], request=rr)
    body = response.content.decode()
    assert response.status_code == 200 and "Select an open rights request from the list" in body
    assert not ReviewSearch.objects.exists() and searches() == before


def test_another_programmes_request_is_not_accepted(w):
    there = rights_world(women=1, name="Another programme")
    rr = there.request("access")
    client = sign_in_verified(Client(), w.dpo)
    response = person_search(client, "TPID-ANY-1", request=rr, reason="Checking")
    assert "Select an open rights request from the list" in response.content.decode()
    assert not ReviewSearch.objects.exists()


def test_without_a_request_the_free_text_reason_is_kept_and_required(w):
    w.request("access")
    other = w.delivery.released[1].woman
    client = sign_in_verified(Client(), w.dpo)
    response = person_search(client, identifiers(other)["trust_person_id"])
    body = response.content.decode()
    assert "Enter your reason, or choose the rights request this search is for" in body
    assert 'href="#id_person-reason"' in body and not ReviewSearch.objects.exists()

    response = person_search(client, identifiers(other)["trust_person_id"], reason="Monitoring flag: bulk access")
    search = ReviewSearch.objects.get()
    assert response.status_code == 302 and search.rights_request is None
    assert search.reason == "Monitoring flag: bulk access"
    assert AuditEntry.objects.get(pk=search.entry_id).reason == "Search by person: Monitoring flag: bulk access"


def test_the_action_checks_the_request_itself(w):
    """The rule holds below the form: a closed request, or a search that found someone else."""
    rr = w.request("access", 0)
    her, other = (r.woman for r in w.delivery.released)
    before = searches()
    for named, message in ([f"eligibility.woman:{other.pk}"], "does not match"),\
            ([f"eligibility.woman:{her.pk}", f"eligibility.woman:{other.pk}"], "does not match"):
        with pytest.raises(ReviewRefused, match=message):
            record_review(by=w.dpo, programme=w.programme, kind=ReviewKind.PERSON_SEARCH, reason="", criteria={},
                          named=named, rights_request=rr)
    rights.close(rr, status=RequestStatus.REFUSED, note="Manifestly unfounded", by=w.dpo)
    with pytest.raises(ReviewRefused, match="is closed"):
        record_review(by=w.dpo, programme=w.programme, kind=ReviewKind.PERSON_SEARCH, reason="", criteria={},
                      named=[f"eligibility.woman:{her.pk}"], rights_request=rr)
    assert not ReviewSearch.objects.exists() and searches() == before


def test_the_caldicott_report_names_the_request_and_not_her(w):
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    person_search(client, identifiers(rr.woman)["trust_person_id"], request=rr)
    person_search(client, identifiers(w.delivery.released[1].woman)["trust_person_id"], reason="Breach review")
    body = sign_in_verified(Client(), w.delivery.caldicott).get(reverse("dpo:activity")).content.decode()
    assert f"Rights request {rr.reference}" in body and "Breach review" in body
    for woman in (r.woman for r in w.delivery.released):
        assert not any(v and v in body for v in identifiers(woman).values())


def test_the_request_page_starts_her_access_review(w):
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    page = client.get(reverse("rights:request", args=[rr.pk])).content.decode()
    url = reverse("dpo:request-search", args=[rr.pk])
    assert f'action="{url}"' in page

    response = client.post(url)
    search = ReviewSearch.objects.get()
    assert response["Location"] == reverse("dpo:search", kwargs={"pk": search.pk})
    assert search.rights_request == rr and search.criteria == {"by": "rights_request", "found": ["woman"]}
    assert f"eligibility.woman:{rr.woman_id}" in search.subjects
    assert AuditEntry.objects.get(pk=search.entry_id).reason == f"Search by person: rights request {rr.reference}"
    shown = client.get(response["Location"]).content.decode()
    assert "Her rights request" in shown and f"Rights request {rr.reference}" in shown


def test_the_request_page_search_refuses_a_closed_request_and_another_programmes(w):
    rr = w.request("access")
    rights.close(rr, status=RequestStatus.COMPLETED, note="Pack sent", by=w.dpo)
    client = sign_in_verified(Client(), w.dpo)
    assert 'action="' + reverse("dpo:request-search", args=[rr.pk]) not in client.get(
        reverse("rights:request", args=[rr.pk])).content.decode()
    before = searches()
    response = client.post(reverse("dpo:request-search", args=[rr.pk]), follow=True)
    assert f"Request {rr.reference} is closed" in response.content.decode()
    there = rights_world(women=1, name="Another programme")
    theirs = there.request("access")
    for method in ("get", "post"):
        assert getattr(client, method)(reverse("dpo:request-search", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("dpo:request-search", args=[w.request("access", 1).pk])).status_code == 405
    assert not ReviewSearch.objects.exists() and searches() == before


@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.PAUSE_LEAD,
                                  Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN])
def test_the_request_page_search_is_404_to_every_other_role(w, role):
    rr = w.request("access")
    person = (f.person(f.organisation(OrganisationKind.TRUST), system_admin=True) if role == Role.SYSTEM_ADMIN
              else member(w.programme, role))
    client = sign_in_verified(Client(), person)
    for method in ("get", "post"):
        assert getattr(client, method)(reverse("dpo:request-search", args=[rr.pk])).status_code == 404
    assert not ReviewSearch.objects.exists()


def test_erasure_keeps_the_search_and_its_request(w):
    """Erasure keeps rights requests (it clears their link to her), so a search made for one stays
    whole and does not stop the erasure."""
    rr = w.request("erasure")
    client = sign_in_verified(Client(), w.dpo)
    client.post(reverse("dpo:request-search", args=[rr.pk]))
    search = ReviewSearch.objects.get()
    w.erase(rr)
    search.refresh_from_db()
    assert search.rights_request_id == rr.pk and search.rights_request.woman_id is None
    activity = sign_in_verified(Client(), w.delivery.caldicott).get(reverse("dpo:activity")).content.decode()
    assert f"Rights request {rr.reference}" in activity
