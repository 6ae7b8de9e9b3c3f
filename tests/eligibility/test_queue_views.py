"""The decision queue, a woman's page with her decision, running the rules now and what the
latest run changed: who reaches them, sorting, filters, blind-index search, pagination, the
disclosure entry, decisions and their history, and a constant number of queries."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.decisions import decide
from eligibility.models import Decision, EvaluationRun, RecomputeJob, ReReview
from eligibility.recompute import recompute
from eligibility.recompute_jobs import request_recompute
from eligibility.views.queue import PER_PAGE
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook
from tests.eligibility.extracts import OTHER_VALID_NHS, VALID_NHS

pytestmark = pytest.mark.django_db

QUEUE = reverse("eligibility:queue")
RUN = reverse("eligibility:run-rules")
CHANGES = reverse("eligibility:changes")
TODAY = timezone.localdate()
RECENT = (TODAY - timedelta(days=800), TODAY - timedelta(days=400), TODAY - timedelta(days=100))
REASON = "Checked the case management system: both orders confirmed."


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


def a_woman(book, pid, *, surname="Synthetic", forename="Ann", born=date(1990, 5, 1), nhs=None, removed=2):
    w = f.WomanFactory(programme=book.programme, first_extract=book.extract, trust_person_id=pid, forename=forename,
                       surname=surname, date_of_birth=born, nhs_number=nhs)
    book.removed(w, *RECENT[:removed])
    return w


def disclosures(person):
    return AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=person).exclude(reason="staff details")


@pytest.fixture
def world(book, programme, caseworker):
    """Three women: Ada (2 children removed: eligible), Bea (1 removed, no signal: not proposed)
    and Cat (3 removed: eligible); the rules have run once."""
    women = {
        "ada": a_woman(book, "P-ADA", forename="Ada", surname="Lovelace", nhs=VALID_NHS, removed=2),
        "bea": a_woman(book, "P-BEA", forename="Bea", surname="O'Brien", born=date(1988, 2, 3), removed=1),
        "cat": a_woman(book, "P-CAT", forename="Cat", surname="Jones", nhs=OTHER_VALID_NHS, removed=3),
    }
    recompute(programme, by=caseworker)
    return women


def rows(response) -> list[str]:
    return [e.woman.pk for e in response.context["page"].object_list]


# --- who reaches the pages -----------------------------------------------------------------
def new_urls(woman_pk: int):
    return [QUEUE, RUN, CHANGES, reverse("eligibility:woman", args=[woman_pk])]


@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_other_role_gets_404(actors, world, who, method):
    client = sign_in_verified(Client(), actors[who])
    for url in new_urls(world["ada"].pk):
        assert getattr(client, method)(url).status_code == 404, url
    assert not Decision.objects.exists() and EvaluationRun.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_people_are_sent_to_sign_in(world, method):
    for url in new_urls(world["ada"].pk):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign-in"))


def test_a_woman_of_another_programme_is_not_found(world, other_programme):
    outsider = f.member(other_programme, "trust_caseworker")
    client = sign_in_verified(Client(), outsider)
    url = reverse("eligibility:woman", args=[world["ada"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "eligible", "reason": REASON}).status_code == 404
    assert not Decision.objects.exists()
    page = client.get(QUEUE).content.decode()  # their own programme's queue: none of ours
    assert "The rules have not run yet" in page and "Lovelace" not in page


@pytest.mark.parametrize("who", ["caseworker", "trust_lead"])
def test_trust_caseworkers_and_leads_see_the_queue_with_names_through_the_disclosure_policy(client, actors, world,
                                                                                            who):
    person = actors[who]
    sign_in_verified(client, person)
    response = client.get(QUEUE)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Ada Lovelace" in page and "Cat Jones" in page and "P-ADA" in page and "1 May 1990" in page
    assert "Bea" not in page  # not proposed: not in the default view
    [entry] = disclosures(person)
    assert sorted(s.subject for s in entry.subjects.all()) == sorted(
        f"eligibility.woman:{w.pk}" for w in (world["ada"], world["cat"]))
    assert entry.page == QUEUE
    client.get(QUEUE)
    assert disclosures(person).count() == 2  # one entry per page view


def test_the_queue_before_any_run_says_so(client, caseworker):
    sign_in_verified(client, caseworker)
    assert "The rules have not run yet" in client.get(QUEUE).content.decode()


# --- filters, sorting, search, pagination --------------------------------------------------
def test_filter_by_proposal(client, caseworker, world):
    sign_in_verified(client, caseworker)
    assert set(rows(client.get(QUEUE, {"proposal": "not_proposed"}))) == {world["bea"].pk}
    assert set(rows(client.get(QUEUE, {"proposal": "eligible"}))) == {world["ada"].pk, world["cat"].pk}
    assert set(rows(client.get(QUEUE, {"proposal": "any"}))) == {w.pk for w in world.values()}
    assert client.get(QUEUE, {"proposal": "nonsense"}).status_code == 200  # an invalid filter is ignored


def test_filter_by_decision(client, caseworker, world):
    decide(woman=world["ada"], by=caseworker, outcome="not_eligible", reason=REASON)
    sign_in_verified(client, caseworker)
    assert rows(client.get(QUEUE, {"decision": "undecided"})) == [world["cat"].pk]
    assert rows(client.get(QUEUE, {"decision": "not_eligible"})) == [world["ada"].pk]
    assert rows(client.get(QUEUE, {"decision": "eligible"})) == []
    assert "Not eligible" in client.get(QUEUE).content.decode()


@pytest.mark.parametrize(("sort", "order", "expected"), [
    ("removed", "asc", ["bea", "ada", "cat"]),
    ("removed", "desc", ["cat", "ada", "bea"]),
    ("last_removal", "asc", ["bea", "ada", "cat"]),
    ("proposal", "desc", ["bea", "ada", "cat"]),
    ("decision", "asc", ["cat", "ada", "bea"]),  # eligible, at risk, then undecided
    ("nonsense", "asc", ["ada", "cat", "bea"]),  # not on the whitelist: the default (proposal, then woman)
])
def test_sorting_by_a_whitelisted_column(client, caseworker, world, sort, order, expected):
    decide(woman=world["cat"], by=caseworker, outcome="eligible", reason=REASON)
    decide(woman=world["ada"], by=caseworker, outcome="at_risk", reason=REASON)
    sign_in_verified(client, caseworker)
    response = client.get(QUEUE, {"proposal": "any", "sort": sort, "order": order})
    assert rows(response) == [world[k].pk for k in expected]


def test_the_sort_headers_say_how_the_table_is_sorted(client, caseworker, world):
    sign_in_verified(client, caseworker)
    page = client.get(QUEUE, {"sort": "removed", "order": "desc"}).content.decode()
    assert 'aria-sort="descending"' in page and "sort=removed&amp;order=asc" in page


def test_sorting_by_re_review(client, caseworker, book, programme, world):
    decide(woman=world["ada"], by=caseworker, outcome="eligible", reason=REASON)
    book.removed(world["ada"], TODAY - timedelta(days=50))  # her evidence changes
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    assert rows(client.get(QUEUE, {"sort": "re_review", "order": "desc"}))[0] == world["ada"].pk
    assert rows(client.get(QUEUE, {"decision": "re_review"})) == [world["ada"].pk]


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "person_id", "q": " p-cat "}, ["cat"]),
    ({"kind": "nhs_number", "q": f"{VALID_NHS[:3]} {VALID_NHS[3:6]} {VALID_NHS[6:]}"}, ["ada"]),
    ({"kind": "surname", "q": "lovelace"}, ["ada"]),  # the surname alone: its own blind index
    ({"kind": "surname", "q": "OBRIEN"}, ["bea"]),  # not proposed: a search looks at every woman
    ({"kind": "surname", "q": "lovelace", "dob_day": "1", "dob_month": "5", "dob_year": "1990"}, ["ada"]),
    ({"kind": "surname", "q": "o'brien", "dob_day": "3", "dob_month": "2", "dob_year": "1988"}, ["bea"]),
])
def test_search_finds_one_woman_through_the_blind_indexes(client, caseworker, world, params, expected):
    sign_in_verified(client, caseworker)
    response = client.post(QUEUE, params)
    assert rows(response) == [world[k].pk for k in expected]
    assert "Search results (1)" in response.content.decode()


def test_a_surname_search_finds_every_woman_of_that_surname(client, caseworker, book, programme, world):
    other = a_woman(book, "P-ADA2", forename="Augusta", surname="LOVELACE", born=date(1975, 6, 7), removed=2)
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    assert set(rows(client.post(QUEUE, {"kind": "surname", "q": "Lovelace"}))) == {world["ada"].pk, other.pk}
    narrowed = client.post(QUEUE, {"kind": "surname", "q": "Lovelace", "dob_day": "7", "dob_month": "6",
                                   "dob_year": "1975"})
    assert rows(narrowed) == [other.pk]


def test_a_search_never_puts_the_identifier_in_an_address(client, caseworker, world):
    sign_in_verified(client, caseworker)
    page = client.get(QUEUE).content.decode()
    form = page[page.index('<form method="post" action="' + QUEUE + '"'):]
    assert 'name="q"' in form[: form.index("</form>")]  # the search box sits in the posted form
    response = client.post(QUEUE, {"kind": "nhs_number", "q": VALID_NHS})
    assert response.status_code == 200 and VALID_NHS not in response.get("Location", "")
    assert client.get(QUEUE, {"kind": "nhs_number", "q": VALID_NHS}).context["searched"] is False


@pytest.mark.parametrize("params", [
    {"kind": "person_id", "q": "P-AD"},  # no partial matches
    {"kind": "surname", "q": "Lovelac"},
    {"kind": "surname", "q": "Lovelace", "dob_day": "2", "dob_month": "5", "dob_year": "1990"},
    {"kind": "nhs_number", "q": "9999999999"},
])
def test_search_matches_exactly_or_not_at_all(client, caseworker, world, params):
    sign_in_verified(client, caseworker)
    response = client.post(QUEUE, params)
    assert rows(response) == [] and "No woman in the latest run matches" in response.content.decode()


@pytest.mark.parametrize(("params", "message"), [
    ({"kind": "nhs_number", "q": "12345"}, "Enter an NHS number of 10 digits"),
    ({"kind": "surname", "q": "Lovelace", "dob_day": "31", "dob_month": "2", "dob_year": "1990"},
     "Enter her date of birth as a real date"),
    ({"kind": "surname", "q": "Lovelace", "dob_year": "1990"}, "Enter her date of birth as a real date"),
    ({"kind": "surname", "q": "--"}, "Enter a surname with at least one letter"),
    ({"kind": "nhs_number", "q": VALID_NHS, "dob_day": "1"}, "narrows a search by surname only"),
    ({"kind": "person_id", "q": ""}, "Enter a Trust person ID, NHS number or surname"),
    ({"kind": "nonsense", "q": "x"}, "Select what to search by"),
])
def test_an_invalid_search_shows_the_error_summary(client, caseworker, world, params, message):
    sign_in_verified(client, caseworker)
    response = client.post(QUEUE, params)
    page = response.content.decode()
    assert "There is a problem" in page and message in page and "<title>Error:" in page
    assert response.context["page"] is None  # no list beside an error


def test_the_queue_is_paginated_and_keeps_its_sort(client, caseworker, book, programme):
    for n in range(PER_PAGE + 1):
        a_woman(book, f"P{n:03}", removed=2)
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    first = client.get(QUEUE, {"sort": "removed"})
    assert len(rows(first)) == PER_PAGE and "Page 1 of 2" in first.content.decode()
    assert "sort=removed&amp;order=asc&amp;page=2" in first.content.decode()
    second = client.get(QUEUE, {"sort": "removed", "page": 2})
    assert len(rows(second)) == 1
    assert not set(rows(first)) & set(rows(second))
    [entry] = disclosures(caseworker).filter(pk__gt=disclosures(caseworker).order_by("pk").first().pk)
    assert entry.subjects.count() == 1  # only the rows shown are disclosed


def test_the_queue_costs_the_same_number_of_queries_for_2_or_30_women(client, caseworker, book, programme):
    def queries_for_queue() -> int:
        recompute(programme, by=caseworker)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(QUEUE, {"sort": "decision"}).status_code == 200
        return len(ctx.captured_queries)

    sign_in_verified(client, caseworker)
    women = [a_woman(book, f"Q{n}", removed=2) for n in range(2)]
    decide(woman=women[0], by=caseworker, outcome="eligible", reason=REASON)
    few = queries_for_queue()
    more = [a_woman(book, f"R{n}", removed=2) for n in range(28)]
    for w in more[:10]:
        decide(woman=w, by=caseworker, outcome="at_risk", reason=REASON)
    many = queries_for_queue()
    assert len(client.get(QUEUE).context["page"].object_list) == 30
    assert few == many


# --- a woman's page and her decisions --------------------------------------------------------
def test_her_page_shows_the_evidence_the_explanation_and_discloses_her_identifiers(client, caseworker, world):
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:woman", args=[world["ada"].pk])
    page = client.get(url).content.decode()
    assert "Ada Lovelace" in page and "P-ADA" in page and "1 May 1990" in page
    assert "Legal status C2: care order" in page and "Counted" in page
    assert "2 children removed" in page  # the explanation
    assert "No decision has been recorded" in page
    child = world["ada"].children.order_by("pk").first()
    assert f"Child {child.pk}" in page and "Extract " in page
    [entry] = disclosures(caseworker)
    assert [s.subject for s in entry.subjects.all()] == [f"eligibility.woman:{world['ada'].pk}"]


@pytest.mark.parametrize(("data", "message"), [
    ({"outcome": "eligible", "reason": "  "}, "Enter the reason for your decision"),
    ({"outcome": "eligible"}, "Enter the reason for your decision"),
    ({"reason": REASON}, "Select your decision"),
    ({"outcome": "approved", "reason": REASON}, "Select your decision"),
])
def test_a_decision_needs_an_outcome_and_a_reason(client, caseworker, world, data, message):
    sign_in_verified(client, caseworker)
    response = client.post(reverse("eligibility:woman", args=[world["ada"].pk]), data)
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page and message in page
    assert page.count(message) == 2  # in the summary and beside the field
    assert not Decision.objects.exists()


def test_a_decision_is_recorded_with_a_success_banner(client, caseworker, world):
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:woman", args=[world["ada"].pk])
    response = client.post(url, {"outcome": "eligible", "reason": REASON})
    assert response.status_code == 302 and response["Location"] == url
    decision = Decision.objects.get()
    assert decision.decided_by == caseworker and decision.outcome == "eligible"
    assert decision.rule_set.version == 1 and decision.evaluation is not None
    page = client.get(url).content.decode()
    assert "Decision recorded: eligible" in page and "govuk-notification-banner--success" in page
    assert REASON in page and caseworker.full_name in page and "(current)" in page


def test_a_revision_keeps_and_shows_the_history(client, caseworker, trust_lead, world):
    url = reverse("eligibility:woman", args=[world["ada"].pk])
    sign_in_verified(client, caseworker)
    client.post(url, {"outcome": "more_information", "reason": "Ask about the second child"})
    sign_in_verified(client, trust_lead)
    client.post(url, {"outcome": "eligible", "reason": REASON})
    assert Decision.objects.count() == 2
    page = client.get(url).content.decode()
    assert page.index(REASON) < page.index("Ask about the second child")  # newest first
    assert "Needs more information" in page and caseworker.full_name in page and trust_lead.full_name in page
    assert "Revise the decision" in page


def test_a_re_review_is_flagged_and_a_new_decision_settles_it(client, caseworker, book, programme, world):
    ada = world["ada"]
    decide(woman=ada, by=caseworker, outcome="eligible", reason=REASON)
    book.removed(ada, TODAY - timedelta(days=50))
    recompute(programme, by=caseworker)
    assert ReReview.objects.filter(woman=ada).exists()
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:woman", args=[ada.pk])
    assert "Her evidence changed after the current decision" in client.get(url).content.decode()
    assert "Re-review</strong>" in client.get(QUEUE).content.decode()
    client.post(url, {"outcome": "eligible", "reason": "Checked the new order too."})
    assert "Her evidence changed after the current decision" not in client.get(url).content.decode()
    assert rows(client.get(QUEUE, {"decision": "re_review"})) == []


# --- running the rules now, and the changes ----------------------------------------------------
def test_running_the_rules_now_shows_what_changed_and_touches_no_decision(client, caseworker, book, programme,
                                                                            world,
                                                                            django_capture_on_commit_callbacks):
    decision = decide(woman=world["ada"], by=caseworker, outcome="eligible", reason=REASON)
    book.removed(world["bea"], TODAY - timedelta(days=30))  # now two removed: newly proposed
    sign_in_verified(client, caseworker)
    assert client.get(RUN).status_code == 405
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(RUN)
    assert response.status_code == 302 and response["Location"] == QUEUE
    job = RecomputeJob.objects.get()
    assert job.status == "queued" and job.requested_by == caseworker and EvaluationRun.objects.count() == 1
    page = client.get(QUEUE).content.decode()
    assert "The rules are running in the background" in page and "Waiting to run: asked for by" in page
    with django_capture_on_commit_callbacks(execute=False) as again:
        client.post(RUN)  # a second request joins the one waiting
    assert RecomputeJob.objects.count() == 1 and not again
    for callback in sent:  # the worker (eager in tests) picks the job up
        callback()
    job.refresh_from_db()
    assert job.status == "done" and job.run == EvaluationRun.objects.order_by("pk").last() and job.finished_at
    assert EvaluationRun.objects.count() == 2 and list(Decision.objects.all()) == [decision]
    page = client.get(CHANGES).content.decode()
    assert 'id="recompute-job-title"' not in page  # the job is done: no banner
    assert "Newly proposed (1)" in page and "Bea O&#x27;Brien" in page
    assert "No longer proposed (0)" in page


def test_a_failed_run_is_shown_and_a_new_request_replaces_it(client, caseworker, programme, world, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from eligibility import recompute_jobs

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(recompute_jobs, "recompute", broken)
    job = request_recompute(programme, by=caseworker, why="test")
    with pytest.raises(RuntimeError):
        recompute_jobs.run_job(job.pk, caseworker.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.failure == "RuntimeError (see the worker's log)"
    sign_in_verified(client, caseworker)
    page = client.get(QUEUE).content.decode()
    assert "The rules did not run" in page and "database went away" not in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN)
    assert RecomputeJob.objects.latest("pk").status == "done"
    assert "The rules did not run" not in client.get(QUEUE).content.decode()


def test_a_job_whose_requester_lost_the_role_fails_and_runs_nothing(caseworker, programme, world):
    from eligibility import recompute_jobs

    job = request_recompute(programme, by=caseworker, why="test")
    caseworker.memberships.update(status="revoked", revoked_at=timezone.now(), revoked_by=caseworker)
    assert recompute_jobs.run_job(job.pk, caseworker.pk) == "refused actor"
    job.refresh_from_db()
    assert job.status == "failed" and EvaluationRun.objects.count() == 1


def test_the_changes_page_before_any_run(client, trust_lead):
    sign_in_verified(client, trust_lead)
    assert "The rules have not run yet" in client.get(CHANGES).content.decode()


def test_the_dashboard_links_to_the_queue_and_the_rules(client, caseworker):
    sign_in_verified(client, caseworker)
    page = client.get(reverse("dashboard")).content.decode()
    assert QUEUE in page and reverse("eligibility:rules") in page
