"""The DPO's pages: every other role gets 404 on every one (GET and POST); the Caldicott Guardian's
report of the DPO's activity is the Caldicott Guardian's alone; the conflicts page is every
member of staff's. Trail searches by filters, the member-of-staff report, paging, CSV export
(formula injection), flags closed with a note, and the declared-conflicts register."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_review import (
    ConflictDeclaration,
    FlagRule,
    FlagStatus,
    MonitoringFlag,
    ReviewKind,
    ReviewSearch,
)
from audit.oversight import review
from audit.oversight.csv_safe import as_csv, safe_cell
from pause_portal.tenancy.roles import Role
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
NOT_DPO = ["caseworker", "trust_lead", "caldicott", "pause_lead", "practitioner", "system_admin"]


def dpo_urls(search_pk: int, flag_pk: int) -> list[str]:
    return [reverse("dpo:home"), reverse("dpo:person-search"), reverse("dpo:trail-search"), reverse("dpo:user-report"),
            reverse("dpo:search", kwargs={"pk": search_pk}), reverse("dpo:export", kwargs={"pk": search_pk}),
            reverse("dpo:flags"), reverse("dpo:flag", kwargs={"pk": flag_pk}), reverse("dpo:conflicts")]


def a_flag(actor, programme, rule=FlagRule.OUTSIDE_CASELOAD) -> MonitoringFlag:
    entry = record_event(Event.REFUSED, actor=actor, programme=programme, page="/delivery/women/9/", status_code=404)
    return MonitoringFlag.objects.create(rule=rule, entry=entry, occurred_at=entry.timestamp, actor=actor,
                                         programme=programme, detail="Refused (404) on /delivery/women/9/")


def trail_post(client, **data):
    return client.post(reverse("dpo:trail-search"), {f"trail-{k}": v for k, v in data.items()})


@pytest.mark.parametrize("who", NOT_DPO)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_dpo_page_is_404_to_every_other_role(who, method, actors, programme, dpo):
    search = ReviewSearch.objects.create(programme=programme, by=dpo, kind=ReviewKind.TRAIL_SEARCH)
    flag = a_flag(actors["caseworker"], programme)
    client = sign_in_verified(Client(), actors[who])
    for url in dpo_urls(search.pk, flag.pk):
        response = getattr(client, method)(url, {"person-kind": "nhs_number", "person-value": "9434765919",
                                                 "person-reason": "x", "note": "x", "reason": "x"})
        assert response.status_code == 404, url
    assert MonitoringFlag.objects.get().status == FlagStatus.OPEN
    assert ReviewSearch.objects.count() == 1


@pytest.mark.parametrize("who", ["caseworker", "trust_lead", "dpo", "pause_lead", "practitioner", "system_admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_dpo_activity_report_is_the_caldicott_guardians_alone(who, method, actors):
    response = getattr(sign_in_verified(Client(), actors[who]), method)(reverse("dpo:activity"))
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_conflicts_page_is_404_to_the_system_administrator(method, system_admin):
    client = sign_in_verified(Client(), system_admin)
    assert getattr(client, method)(reverse("conflicts:declare")).status_code == 404


@pytest.mark.parametrize("who", ["caseworker", "trust_lead", "caldicott", "dpo", "pause_lead", "practitioner"])
def test_every_member_of_staff_reaches_the_conflicts_page(who, actors):
    assert sign_in_verified(Client(), actors[who]).get(reverse("conflicts:declare")).status_code == 200


def test_a_search_is_only_its_dpos(programme, dpo):
    other_dpo = member(programme, Role.DPO)
    client = sign_in_verified(Client(), dpo)
    response = trail_post(client, action="refused")
    search = ReviewSearch.objects.get()
    assert client.get(response["Location"]).status_code == 200
    other = sign_in_verified(Client(), other_dpo)
    assert other.get(reverse("dpo:search", kwargs={"pk": search.pk})).status_code == 404
    assert other.post(reverse("dpo:export", kwargs={"pk": search.pk}), {"reason": "Audit"}).status_code == 404


def test_trail_search_filters_by_user_action_dates_and_flag_and_pages(programme, dpo, caseworker, trust_lead,
                                                                      monkeypatch):
    monkeypatch.setattr(review, "PER_PAGE", 2)
    for day in (3, 4, 5):
        with time_machine.travel(datetime(2026, 3, day, 10, tzinfo=LONDON), tick=False):
            record_event(Event.DISCLOSURE, actor=caseworker, programme=programme, page="/records/eligibility/",
                         subject_model=AuditEntry, subject_ids=[1])
            record_event(Event.REFUSED, actor=trust_lead, programme=programme, page="/delivery/", status_code=404)
    flagged = a_flag(caseworker, programme)
    client = sign_in_verified(Client(), dpo)

    response = trail_post(client, user=caseworker.pk, action="view", date_from="4/3/2026", date_to="05/03/2026")
    page = client.get(response["Location"])
    shown = [int(n) for n in re.findall(r'data-entry="(\d+)"', page.content.decode())]
    expected = list(AuditEntry.objects.filter(actor=caseworker, event=Event.DISCLOSURE,
                                              timestamp__date__gte="2026-03-04").order_by("-timestamp")
                    .values_list("pk", flat=True))
    assert shown == expected and len(shown) == 2
    assert ReviewSearch.objects.get().result_count == 2

    response = trail_post(client, action="refused")
    first = client.get(response["Location"])
    second = client.get(response["Location"] + "?page=2")
    ids = [int(n) for r in (first, second) for n in re.findall(r'data-entry="(\d+)"', r.content.decode())]
    assert len(ids) == 4 and len(set(ids)) == 4 and "Page 1 of 2" in first.content.decode()

    response = trail_post(client, flag=FlagRule.OUTSIDE_CASELOAD)
    page = client.get(response["Location"])
    assert re.findall(r'data-entry="(\d+)"', page.content.decode()) == [str(flagged.entry_id)]
    assert reverse("dpo:flag", kwargs={"pk": flagged.pk}) in page.content.decode()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"date_from": "31/2/2026"}, "date_from", "Enter the first date"),
    ({"date_from": "5/3/2026", "date_to": "4/3/2026"}, "date_to", "same as or after"),
    ({"action": "delete"}, "action", "Select an action"),
    ({"user": "999999"}, "user", "Select a member of staff"),
    ({"reason": "about 9434765919"}, "reason", "six digits"),
])
def test_bad_trail_searches_say_why(programme, dpo, data, field, message):
    response = trail_post(sign_in_verified(Client(), dpo), **data)
    body = response.content.decode()
    assert response.status_code == 200 and message in body and f'href="#id_trail-{field}"' in body
    assert not ReviewSearch.objects.exists()


def test_the_member_of_staff_report_summarises_their_access(programme, dpo, caseworker):
    record_event(Event.DISCLOSURE, actor=caseworker, programme=programme, page="/records/eligibility/",
                 subject_model=AuditEntry, subject_ids=range(1, 8))
    record_event(Event.SIGN_IN, actor=caseworker, target=caseworker)  # no programme: still theirs
    a_flag(caseworker, programme)
    client = sign_in_verified(Client(), dpo)
    response = client.post(reverse("dpo:user-report"), {"staff-user": caseworker.pk, "staff-reason": ""})
    search = ReviewSearch.objects.get()
    assert search.kind == ReviewKind.USER_REPORT and search.criteria == {"user_id": caseworker.pk}
    body = client.get(response["Location"]).content.decode()
    summary = review.user_summary(programme, caseworker.pk)
    assert summary.entries == 3 and summary.subjects_shown == 7 and summary.open_flags == 1
    assert "Records shown to them" in body and caseworker.full_name in body


def test_export_is_safe_against_formula_injection_and_is_recorded(programme, dpo, caseworker, caldicott):
    record_event(Event.CHANGE, actor=caseworker, programme=programme, page="/records/",
                 reason='=HYPERLINK("http://evil.invalid","click")')
    record_event(Event.CHANGE, actor=caseworker, programme=programme, page="/records/", reason="+1 rule edited")
    client = sign_in_verified(Client(), dpo)
    search_url = trail_post(client, user=caseworker.pk)["Location"]
    search = ReviewSearch.objects.get()
    export_url = reverse("dpo:export", kwargs={"pk": search.pk})

    refused = client.post(export_url, {"reason": ""})
    assert refused.status_code == 200 and "Enter your reason" in refused.content.decode()
    assert ReviewSearch.objects.filter(kind=ReviewKind.EXPORT).count() == 0

    response = client.post(export_url, {"reason": "Quarterly access audit"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    reasons = [r[rows[0].index("Reason")] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil.invalid\",\"click\")" in reasons and "'+1 rule edited" in reasons
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    export = ReviewSearch.objects.get(kind=ReviewKind.EXPORT)
    assert export.reason == "Quarterly access audit" and export.result_count == 2
    assert export.criteria == {"of": search.pk, "kind": ReviewKind.TRAIL_SEARCH}
    entry = AuditEntry.objects.get(pk=export.entry_id)
    assert entry.event == Event.REVIEW_EXPORT and entry.actor_id == dpo.pk and "Quarterly access audit" in entry.reason
    assert search_url

    # ... and both are reported to the Caldicott Guardian, with the reasons.
    body = sign_in_verified(Client(), caldicott).get(reverse("dpo:activity")).content.decode()
    assert "Quarterly access audit" in body and "Export (CSV)" in body and "Search of the trail" in body
    assert dpo.full_name in body


def test_the_caldicott_report_never_says_whom_a_person_search_was_about(programme, dpo, caldicott):
    ReviewSearch.objects.create(programme=programme, by=dpo, kind=ReviewKind.PERSON_SEARCH, reason="SAR 2026/14",
                                criteria={"by": "nhs_number", "found": ["woman"]},
                                subjects=["eligibility.woman:4242"], result_count=3)
    body = sign_in_verified(Client(), caldicott).get(reverse("dpo:activity")).content.decode()
    assert "SAR 2026/14" in body and "NHS number" in body and "4242" not in body


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (12, "12"),
])
def test_safe_cell(value, safe):
    assert safe_cell(value) == safe


def test_as_csv_quotes_the_header_too():
    assert as_csv(["=h"], [["-x", "y"]]).splitlines() == ["'=h", "'-x,y"]


def test_a_flag_is_closed_with_a_note_by_a_dpo_not_the_one_it_is_about(programme, dpo, caseworker):
    flag = a_flag(caseworker, programme)
    client = sign_in_verified(Client(), dpo)
    url = reverse("dpo:flag", kwargs={"pk": flag.pk})
    assert "/delivery/women/9/" in client.get(url).content.decode()
    empty = client.post(url, {"note": "  "})
    assert empty.status_code == 400 and "Enter a note saying what you found" in empty.content.decode()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN
    response = client.post(url, {"note": "Checked with her manager: a mistyped link."})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.closed_by_id, flag.closing_note) == (FlagStatus.CLOSED, dpo.pk,
                                                                     "Checked with her manager: a mistyped link.")
    assert AuditEntry.objects.filter(event=Event.CHANGE, actor=dpo, reason__contains=f"flag #{flag.pk}").exists()
    again = client.post(url, {"note": "Again"})
    assert again.status_code == 400 and "already been closed" in again.content.decode()

    own = a_flag(dpo, programme, FlagRule.OUT_OF_HOURS)
    response = client.post(reverse("dpo:flag", kwargs={"pk": own.pk}), {"note": "Fine"})
    own.refresh_from_db()
    assert own.status == FlagStatus.OPEN and "closed by another DPO" in response.content.decode()
    listing = client.get(reverse("dpo:flags")).content.decode()
    assert f"flag #{own.pk}" in listing and f"flag #{flag.pk}" not in listing  # open ones by default
    assert f"flag #{flag.pk}" in client.get(reverse("dpo:flags") + "?status=closed").content.decode()


def test_another_programmes_flags_are_not_found(programme, other_programme, dpo, other_programme_person):
    flag = a_flag(other_programme_person, other_programme)
    client = sign_in_verified(Client(), dpo)
    assert client.get(reverse("dpo:flag", kwargs={"pk": flag.pk})).status_code == 404
    assert f"flag #{flag.pk}" not in client.get(reverse("dpo:flags") + "?status=all").content.decode()


def test_staff_declare_and_withdraw_and_the_dpo_sees_the_register(programme, practitioner, dpo):
    client = sign_in_verified(Client(), practitioner)
    bad = client.post(reverse("conflicts:declare"), {"kind": "nhs_number", "value": "123", "relationship": "relative"})
    assert bad.status_code == 400 and "Enter an NHS number of 10 digits" in bad.content.decode()
    missing = client.post(reverse("conflicts:declare"), {"kind": "nhs_number", "value": "9434765919"})
    assert missing.status_code == 400 and "Select how you know them" in missing.content.decode()
    assert not ConflictDeclaration.objects.exists()

    response = client.post(reverse("conflicts:declare"), {"kind": "nhs_number", "value": "943 476 5919",
                                                          "relationship": "relative"})
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get()
    assert declaration.declared_by_id == practitioner.pk and declaration.index_terms
    assert all(t.startswith("v") and "9434765919" not in t for t in declaration.index_terms)
    entry = AuditEntry.objects.filter(event=Event.CHANGE, actor=practitioner).latest("pk")
    assert "9434765919" not in entry.reason + entry.object_repr

    register = sign_in_verified(Client(), dpo).get(reverse("dpo:conflicts")).content.decode()
    assert practitioner.full_name in register and "A relative" in register and "In force" in register

    other = member(programme, Role.PAUSE_PRACTITIONER)
    url = reverse("conflicts:withdraw", kwargs={"pk": declaration.pk})
    assert sign_in_verified(Client(), other).post(url).status_code == 404  # not theirs
    assert sign_in_verified(Client(), other).post(url, {"confirmed": "yes"}).status_code == 404
    asked = client.post(url)
    assert asked.status_code == 200 and f"Are you sure you want to withdraw declaration #{declaration.pk}?" in (
        asked.content.decode())
    declaration.refresh_from_db()
    assert declaration.withdrawn_at is None  # asking changes nothing
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    declaration.refresh_from_db()
    assert declaration.withdrawn_at is not None


def test_the_dashboard_links(programme, dpo, caldicott, caseworker, system_admin):
    assert reverse("dpo:home") in sign_in_verified(Client(), dpo).get("/").content.decode()
    caldicott_page = sign_in_verified(Client(), caldicott).get("/").content.decode()
    assert reverse("dpo:activity") in caldicott_page and f'href="{reverse("dpo:home")}"' not in caldicott_page
    assert reverse("conflicts:declare") in sign_in_verified(Client(), caseworker).get("/").content.decode()
    assert reverse("conflicts:declare") not in sign_in_verified(Client(), system_admin).get("/").content.decode()
