"""Decisions in batches, the pages (issue 24, point 2): choosing women in the queue, one decision
and reason, checking each woman with a tick of her own, and confirming — who reaches them, the
errors that change nothing, and a change after the check that stops the batch and says who."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility import forms_batch
from eligibility.batch_decisions import BATCH_MAX
from eligibility.decisions import decide
from eligibility.forms_batch import CheckExpired, read_check, sign_check
from eligibility.models import Decision, RestrictionReason
from eligibility.recompute import recompute
from eligibility.restrictions import restrict
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

QUEUE = reverse("eligibility:queue")
BATCH = reverse("eligibility:batch")
TODAY = timezone.localdate()
RECENT = (TODAY - timedelta(days=800), TODAY - timedelta(days=400))
REASON = "Checked the case management system for each: both orders confirmed."


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


def a_woman(book, pid, forename, surname, *, born=date(1990, 5, 1), removed=2):
    w = f.WomanFactory(programme=book.programme, first_extract=book.extract, trust_person_id=pid, forename=forename,
                       surname=surname, date_of_birth=born)
    book.removed(w, *RECENT[:removed])
    return w


@pytest.fixture
def women(book, programme, caseworker):
    """Ada, Bea and Cat, all proposed eligible; the rules have run."""
    made = [a_woman(book, "P-ADA", "Ada", "Lovelace"), a_woman(book, "P-BEA", "Bea", "Brown"),
            a_woman(book, "P-CAT", "Cat", "Jones")]
    recompute(programme, by=caseworker)
    return made


def choose(client, women, **query):
    url = BATCH + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, {"women": [w.pk for w in women]})


def to_check(client, women, outcome="eligible", reason=REASON):
    response = client.post(BATCH, {"women": [w.pk for w in women], "step": "check", "outcome": outcome,
                                   "reason": reason})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def check_of(response) -> str:
    return response.context["form"]["check"].value()


def ticks(women) -> dict:
    return {f"checked_{w.pk}": "on" for w in women}


def disclosures(person):
    return AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=person).exclude(reason="staff details")


# --- who reaches the pages ---------------------------------------------------------------------
@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin"])
def test_no_other_role_decides_in_a_batch(actors, programme, women, who):
    client = sign_in_verified(Client(), actors[who])
    check = sign_check(by=actors[who], outcome="eligible", reason=REASON,
                       checked={w.pk: [None, None, None, None, False] for w in women})
    for data in ({"women": [w.pk for w in women]},
                 {"women": [w.pk for w in women], "step": "check", "outcome": "eligible", "reason": REASON},
                 {"step": "confirm", "check": check, **ticks(women)}):
        assert client.post(BATCH, data).status_code == 404
    assert not Decision.objects.exists() and not disclosures(actors[who]).exists()


def test_a_trust_caseworker_of_another_programme_chooses_none_of_ours(other_programme, women):
    outsider = f.member(other_programme, "trust_caseworker")
    response = choose(sign_in_verified(Client(), outsider), women)
    assert response.status_code == 400 and "Choose women from the latest run of the rules" in response.content.decode()
    assert not disclosures(outsider).exists()


def test_the_batch_is_posted_only(client, caseworker):
    sign_in_verified(client, caseworker)
    assert client.get(BATCH).status_code == 405


# --- choosing ------------------------------------------------------------------------------------
def test_the_queue_offers_a_tick_for_each_proposed_woman_only(client, caseworker, book, programme, women):
    not_proposed = a_woman(book, "P-DOT", "Dot", "Smith", removed=1)
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    page = client.get(QUEUE, {"proposal": "any"}).content.decode()
    assert all(f'id="choose-{w.pk}"' in page for w in women) and f'id="choose-{not_proposed.pk}"' not in page
    assert f'action="{BATCH}?proposal=any' in page


def test_chosen_women_get_one_decision_form_listing_them(client, caseworker, women):
    sign_in_verified(client, caseworker)
    response = choose(client, women)
    page = response.content.decode()
    assert response.status_code == 200 and "Decide about 3 women" in page
    assert "Ada Lovelace (P-ADA)" in page and "Cat Jones (P-CAT)" in page
    [entry] = disclosures(caseworker)
    assert sorted(s.subject for s in entry.subjects.all()) == sorted(f"eligibility.woman:{w.pk}" for w in women)


def test_more_than_25_women_are_refused_on_the_queue_and_nothing_changes(client, caseworker, book, programme):
    many = [a_woman(book, f"P{n:02}", "Ann", f"Synthetic{n}") for n in range(BATCH_MAX + 1)]
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    response = choose(client, many, sort="removed")
    page = response.content.decode()
    assert response.status_code == 400 and "<title>Error:" in page and "There is a problem" in page
    assert "Choose 25 women or fewer to decide about together: you chose 26" in page
    assert page.count(" checked>") == 26  # the ticks stay
    assert 'href="#id_women_0"' in page and 'id="id_women_0"' in page  # the summary links to the choice
    assert not Decision.objects.exists()


def test_mixed_proposals_are_refused_and_each_problem_row_says_why(client, caseworker, trust_lead, book, programme,
                                                                  women):
    review = a_woman(book, "P-REV", "Rae", "Review", born=None)  # no date of birth: needs review
    recompute(programme, by=caseworker)
    restrict(woman=women[2], reason=RestrictionReason.OBJECTION, by=trust_lead)
    sign_in_verified(client, caseworker)
    response = choose(client, [*women, review], proposal="any")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choose women with the same proposal: you chose 2 eligible and 1 needs review" in page
    assert "Leave out women whose records are restricted" in page and "Her records are restricted" in page
    assert not Decision.objects.exists()


def test_choosing_nobody_says_so(client, caseworker, women):
    sign_in_verified(client, caseworker)
    response = client.post(BATCH, {})
    assert response.status_code == 400 and "Choose the women to decide about" in response.content.decode()


# --- one decision and one reason ----------------------------------------------------------------------
@pytest.mark.parametrize(("data", "message"), [
    ({"outcome": "eligible", "reason": " "}, "Enter the reason for your decision"),
    ({"reason": REASON}, "Select your decision"),
])
def test_the_decision_needs_an_outcome_and_a_reason(client, caseworker, women, data, message):
    sign_in_verified(client, caseworker)
    response = client.post(BATCH, {"women": [w.pk for w in women], "step": "check", **data})
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page and page.count(message) == 2
    assert not Decision.objects.exists()


# --- check your answers, and confirming ---------------------------------------------------------------
def test_the_check_page_shows_each_woman_with_her_evidence_and_a_tick_of_her_own(client, caseworker, women):
    sign_in_verified(client, caseworker)
    response = to_check(client, women)
    page = response.content.decode()
    assert "Check each woman before you confirm" in page and REASON in page and "Eligible" in page
    for w, name in zip(women, ("Ada Lovelace", "Bea Brown", "Cat Jones"), strict=True):
        assert f'id="id_checked_{w.pk}"' in page and f"I have checked {name}&#x27;s evidence" in page
    assert page.count("2 children removed") == 3  # each woman's own explanation
    assert f'id="id_checked_{women[0].pk}" checked' not in page  # nobody is ticked for the person
    assert REASON not in response.get("Location", "") and not Decision.objects.exists()


def test_an_unticked_woman_stops_the_batch_and_is_named(client, caseworker, women):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women))
    response = client.post(BATCH, {"step": "confirm", "check": check, **ticks(women[:2])})
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page
    assert "Confirm that you have checked Cat Jones&#x27;s evidence" in page
    assert f'href="#id_checked_{women[2].pk}"' in page
    assert "Ada Lovelace&#x27;s evidence, or go back" not in page  # she was ticked
    assert not Decision.objects.exists()


def test_confirming_records_one_decision_per_woman_and_goes_back_to_the_queue(client, caseworker, women):
    sign_in_verified(client, caseworker)
    to_check(client, women, outcome="at_risk")
    check = check_of(to_check(client, women, outcome="at_risk"))
    response = client.post(BATCH + "?proposal=eligible&sort=removed",
                           {"step": "confirm", "check": check, **ticks(women)})
    assert response.status_code == 302 and response["Location"] == QUEUE + "?proposal=eligible&sort=removed"
    decisions = Decision.objects.order_by("woman_id")
    assert [d.woman_id for d in decisions] == [w.pk for w in women]
    assert {(d.outcome, d.decided_by_id) for d in decisions} == {("at_risk", caseworker.pk)}
    entries = AuditEntry.objects.filter(event=Event.CHANGE, object_repr__startswith="eligibility.decision:")
    assert sorted(e.subjects.get().subject for e in entries) == sorted(f"eligibility.woman:{w.pk}" for w in women)
    assert "3 decisions recorded: at risk" in client.get(QUEUE).content.decode()
    assert REASON not in str(dict(client.session.items())) and REASON not in response["Location"]


def test_a_woman_decided_by_someone_else_after_the_check_stops_the_batch_and_is_named(client, caseworker,
                                                                                      trust_lead, women):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women))
    decide(woman=women[1], by=trust_lead, outcome="not_eligible", reason="Seen in person")
    response = client.post(BATCH, {"step": "confirm", "check": check, **ticks(women)})
    page = response.content.decode()
    assert response.status_code == 409 and "Nothing was recorded" in page
    assert "Bea Brown: a decision about her was recorded after your check" in page
    assert f'id="id_checked_{women[1].pk}" checked' not in page  # her tick is cleared: check her again
    assert f'id="id_checked_{women[0].pk}" checked' in page
    assert Decision.objects.count() == 1
    # checked again, she can be confirmed: the new check holds her decision as it is now
    again = client.post(BATCH, {"step": "confirm", "check": check_of(response), **ticks(women)})
    assert again.status_code == 302 and Decision.objects.count() == 4


def test_a_woman_restricted_after_the_check_stops_the_batch(client, caseworker, trust_lead, women):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women))
    restrict(woman=women[0], reason=RestrictionReason.SAFEGUARDING, by=trust_lead)
    response = client.post(BATCH, {"step": "confirm", "check": check, **ticks(women)})
    assert response.status_code == 409
    assert "Ada Lovelace: her records were restricted after your check" in response.content.decode()
    again = client.post(BATCH, {"step": "confirm", "check": check_of(response), **ticks(women)})
    assert again.status_code == 409 and "Leave out women whose records are restricted" in again.content.decode()
    assert not Decision.objects.exists()


def test_a_check_that_was_altered_or_is_someone_elses_records_nothing(client, caseworker, trust_lead, women):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women))
    for forged in (check[:-2] + "xx", sign_check(by=trust_lead, outcome="eligible", reason=REASON,
                                                 checked={w.pk: [None] * 5 for w in women})):
        response = client.post(BATCH, {"step": "confirm", "check": forged, **ticks(women)})
        assert response.status_code == 302 and response["Location"] == QUEUE
    assert "That check could not be read: nothing was recorded" in client.get(QUEUE).content.decode()
    assert not Decision.objects.exists()


def test_an_old_check_is_shown_again_with_nobody_ticked(client, caseworker, women, monkeypatch):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women))
    monkeypatch.setattr(forms_batch, "CHECK_MAX_AGE", -1)
    response = client.post(BATCH, {"step": "confirm", "check": check, **ticks(women)})
    page = response.content.decode()
    assert response.status_code == 400 and "More than 2 hours passed since your check" in page
    assert " checked>" not in page and not Decision.objects.exists()


def test_a_check_is_read_back_only_within_two_hours(caseworker):
    with time_machine.travel(timezone.now() - timedelta(hours=2, minutes=1)):
        token = sign_check(by=caseworker, outcome="eligible", reason=REASON, checked={1: [1, "eligible", "d", None, False]})
    with pytest.raises(CheckExpired) as expired:
        read_check(token, by=caseworker)
    assert expired.value.content["women"] == {1: [1, "eligible", "d", None, False]}
    fresh = sign_check(by=caseworker, outcome="eligible", reason=REASON, checked={1: [1, "eligible", "d", None, False]})
    assert read_check(fresh, by=caseworker)["reason"] == REASON


def test_change_goes_back_to_the_decision_with_the_answers_kept(client, caseworker, women):
    sign_in_verified(client, caseworker)
    check = check_of(to_check(client, women, outcome="more_information"))
    response = client.post(BATCH, {"step": "change", "check": check})
    page = response.content.decode()
    assert response.status_code == 200 and "Decide about 3 women" in page and REASON in page
    assert re.search(r'<input type="radio" name="outcome" value="more_information"[^>]* checked>', page)
