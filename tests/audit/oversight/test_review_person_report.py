"""The per-person report is complete: a known sequence of accesses across roles — the Trust
caseworker's queue, the Pause lead's scoping rows and delivery list, the practitioner's view of
her and of a contact attempt, a refused attempt on her page — yields exactly those rows (and
the DPO's own search), found by Trust id, NHS number or token, never showing her record.

The oracle is a brute-force scan of every entry and subject in Python; the report must match it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from audit.core.models_review import ReviewKind, ReviewSearch
from audit.oversight.person_subjects import find_person, references_about_woman
from audit.oversight.review import person_entries
from eligibility.disclosure import disclose
from eligibility.models import Woman
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing.models_delivery import ReleasedChild
from sharing.models_scoping import ScopingWomanRow
from sharing.scoping_release import release_for_scoping
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import Cohort, member

pytestmark = pytest.mark.django_db


def oracle(references: list[str]) -> set[int]:
    """Every entry about her, by scanning everything (what the indexed query must equal)."""
    wanted = set(references)
    about = {s.entry_id for s in AuditSubject.objects.all() if s.subject in wanted}
    about |= {e.pk for e in AuditEntry.objects.all() if e.object_repr in wanted}
    return about


def identifiers(woman: Woman) -> dict[str, str]:
    protector = Protector.load(woman.programme_id, Woman.key_phase, create=False)
    return {k: woman.reveal(protector, k) for k in ("trust_person_id", "nhs_number", "forename", "surname")}


def search(client: Client, kind: str, value: str, reason: str = "Subject access request from her solicitor"):
    return client.post(reverse("dpo:person-search"), {"person-kind": kind, "person-value": value,
                                                      "person-reason": reason})


def shown_entries(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry="(\d+)"', response.content.decode())]


def as_client(person) -> Client:
    return sign_in_verified(Client(), person)


def test_delivery_sequence_yields_exactly_those_rows():
    world = delivery_world(women=2)
    her, other = world.released
    p1, p2 = world.practitioners
    world.assign(her, p1)
    caseworker = member(world.programme, Role.TRUST_CASEWORKER)
    dpo = member(world.programme, Role.DPO)
    before = set(oracle(references_about_woman(her.woman_id)))
    start = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()

    queue = disclose(caseworker, [her.woman, other.woman], page="/records/eligibility/").entry
    disclose(caseworker, [other.woman], page="/records/eligibility/")  # not about her
    listing = disclose(world.pause_lead, [her, other], page="/delivery/women/").entry
    disclose(world.pause_lead, [other], page=f"/delivery/women/{other.pk}/")  # not about her
    seen = disclose(p1, [her], page=f"/delivery/women/{her.pk}/").entry
    contact = f.ContactAttemptFactory(released_woman=her, recorded_by=p1, outcome="interested", note="Synthetic note")
    contact_view = disclose(p1, [contact], page=f"/casework/women/{her.pk}/").entry
    refused_page = reverse("eligibility:woman", kwargs={"pk": her.woman_id})
    assert as_client(p2).get(refused_page).status_code == 404  # not hers to see: the middleware records it
    refused = AuditEntry.objects.filter(event=Event.REFUSED, actor=p2).latest("pk")
    as_client(p2).get(reverse("eligibility:woman", kwargs={"pk": other.woman_id}))  # someone else's page

    client = as_client(dpo)
    trust_id = identifiers(her.woman)["trust_person_id"]
    response = search(client, "person_id", trust_id)
    review = ReviewSearch.objects.get(by=dpo, kind=ReviewKind.PERSON_SEARCH)
    assert response.status_code == 302 and response["Location"] == reverse("dpo:search", kwargs={"pk": review.pk})
    page = client.get(response["Location"])
    assert page.status_code == 200

    new = {queue.pk, listing.pk, seen.pk, contact_view.pk, refused.pk, review.entry_id}
    expected = before | new
    assert set(shown_entries(page)) == expected
    assert {e for e in oracle(review.subjects)} | {refused.pk} == expected
    assert {e.pk for e in person_entries(review.subjects, per_page=500).object_list} == expected
    after_start = {e.pk for e in AuditEntry.objects.filter(pk__gt=start, pk__in=expected)}
    assert after_start == new
    assert review.result_count == len(expected) - 1  # counted before its own entry was written

    body = page.content.decode()
    for value in identifiers(her.woman).values():
        assert value not in body  # entries only, never her record
    assert "A page of her records (refused)" in body and refused_page in body
    entry = AuditEntry.objects.get(pk=review.entry_id)
    assert entry.event == Event.REVIEW_SEARCH and trust_id not in entry.reason
    assert list(entry.subjects.values_list("subject", flat=True)) == [f"eligibility.woman:{her.woman_id}"]

    # The export has exactly the same rows, says which of her records each named, and is itself
    # recorded as about her.
    exported = client.post(reverse("dpo:export", kwargs={"pk": review.pk}), {"reason": "Answering her request"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert {int(r["Entry"]) for r in rows} == expected
    assert {r["Her records named"] for r in rows if int(r["Entry"]) == seen.pk} == {f"Her delivery release (#{her.pk})"}
    export_entry = AuditEntry.objects.filter(event=Event.REVIEW_EXPORT, actor=dpo).get()
    assert list(export_entry.subjects.values_list("subject", flat=True)) == [f"eligibility.woman:{her.woman_id}"]
    assert not any(value in exported.content.decode() for value in identifiers(her.woman).values())


def test_found_the_same_by_nhs_number_and_by_delivery_child_token():
    world = delivery_world(women=1)
    [her] = world.released
    ids = identifiers(her.woman)
    [by_nhs] = find_person(world.programme, "nhs_number", ids["nhs_number"])
    [by_id] = find_person(world.programme, "person_id", ids["trust_person_id"])
    assert by_nhs.primary == by_id.primary == f"eligibility.woman:{her.woman_id}"
    assert by_nhs.references == by_id.references
    assert f"sharing.releasedwoman:{her.pk}" in by_nhs.references
    child_row = ReleasedChild.objects.filter(released_woman=her).first()
    [child] = find_person(world.programme, "token", child_row.token.lower())
    assert child.primary == f"eligibility.child:{child_row.child_id}"
    assert f"sharing.releasedchild:{child_row.pk}" in child.references
    assert find_person(world.programme, "token", "W-0000-0000-0000-0") == []  # malformed: nobody
    assert find_person(world.programme, "nhs_number", "9999999999") == []


def test_scoping_sequence_found_by_scoping_token():
    programme_ = f.programme(phase=Phase.SCOPING)
    lead = f.AgreementFactory(programme=programme_).proposed_by
    cohort = Cohort(programme_, lead)
    today = timezone.localdate()
    women = [cohort.woman(born=date(1991, 2, 1) + timedelta(days=3 * i), ethnicity="WBRI",
                          removals=[today - timedelta(days=400), today - timedelta(days=90)]) for i in range(6)]
    release_for_scoping(programme_, women, by=lead)
    her = women[0]
    row = ScopingWomanRow.objects.get(woman=her)
    pause_lead = member(programme_, Role.PAUSE_LEAD)
    assert as_client(pause_lead).get(reverse("scoping:rows")).status_code == 200  # the real page
    rows_view = AuditEntry.objects.filter(actor=pause_lead, event=Event.DISCLOSURE).order_by("pk")
    about_her = [e.pk for e in rows_view if e.subjects.filter(subject=f"sharing.scopingwomanrow:{row.pk}").exists()]
    assert len(about_her) == 1

    dpo = member(programme_, Role.DPO)
    client = as_client(dpo)
    response = search(client, "token", row.token.replace("-", " "))
    review = ReviewSearch.objects.get(by=dpo)
    page = client.get(response["Location"])
    expected = oracle(references_about_woman(her.pk))
    assert set(shown_entries(page)) == expected and about_her[0] in expected
    assert row.token not in page.content.decode() and row.token not in review.reason


def test_nobody_found_is_still_recorded_and_says_so(programme, dpo):
    client = as_client(dpo)
    response = search(client, "nhs_number", "943 476 5919")
    review = ReviewSearch.objects.get(by=dpo)
    assert review.subjects == [] and review.result_count == 0 and review.criteria == {"by": "nhs_number",
                                                                                     "found": []}
    page = client.get(response["Location"])
    assert "Nobody matched" in page.content.decode()
    assert "9434765919" not in str(review.criteria) + review.reason


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"person-kind": "nhs_number", "person-value": "12345", "person-reason": "SAR"}, "value", "10 digits"),
    ({"person-kind": "token", "person-value": "W-1234", "person-reason": "SAR"}, "value", "Enter a token"),
    ({"person-kind": "person_id", "person-value": "TPID1", "person-reason": ""}, "reason", "Enter your reason"),
    ({"person-kind": "person_id", "person-value": "TPID77Q", "person-reason": "SAR about tpid77q"}, "reason",
     "Remove the identifier"),
    ({"person-kind": "person_id", "person-value": "TPID1", "person-reason": "SAR for 943 476 5919"}, "reason",
     "six digits"),
    ({"person-value": "TPID1", "person-reason": "SAR"}, "kind", "Select what you are searching by"),
])
def test_bad_person_searches_say_why_and_record_nothing(programme, dpo, data, field, message):
    client = as_client(dpo)
    entries = AuditEntry.objects.filter(event=Event.REVIEW_SEARCH).count()
    response = client.post(reverse("dpo:person-search"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body and message in body and f'href="#id_person-{field}' in body
    assert not ReviewSearch.objects.exists()
    assert AuditEntry.objects.filter(event=Event.REVIEW_SEARCH).count() == entries


def test_every_model_about_a_person_is_followed_or_explicitly_left_out():
    """A new model with a foreign key to a woman, a child or their Pause-side rows must say whether
    the per-person report follows it (PERSON_LINKS) or why not (NOT_FOLLOWED)."""
    from django.apps import apps

    from audit.oversight.person_subjects import CHILD_LINKS, EXTRA_LINKS, NOT_FOLLOWED, PERSON_LINKS

    about = {"eligibility.woman", "eligibility.child", "sharing.releasedwoman", "sharing.scopingwomanrow"}
    decided = set(PERSON_LINKS) | set(EXTRA_LINKS) | set(CHILD_LINKS) | set(NOT_FOLLOWED)
    undecided = sorted(
        f"{m._meta.label_lower}.{f.name}" for m in apps.get_models() for f in m._meta.concrete_fields
        if f.is_relation and f.related_model and f.related_model._meta.label_lower in about
        and m._meta.label_lower not in decided
    )
    assert undecided == []
