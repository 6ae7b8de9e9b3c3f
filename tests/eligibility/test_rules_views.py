"""The rule-set pages: caseworkers and leads read every version and what it changed; only the
Trust lead edits, which makes a new version, runs the rules again and shows the difference."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eligibility.decisions import decide
from eligibility.forms_rules import RuleSetForm
from eligibility.models import Decision, EvaluationRun, RecomputeJob, RuleSet
from eligibility.rules import current_rule_set
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

RULES = reverse("eligibility:rules")
EDIT = reverse("eligibility:rules-edit")


def form_data(rule_set: RuleSet, **changes) -> dict:
    """The edit form as a browser posts it, filled in with the version's rules."""
    initial = RuleSetForm.for_rule_set(rule_set).initial
    return {name: value for name, value in {**initial, **changes}.items() if value not in (None, [])}


@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_other_role_gets_404(actors, programme, who, method):
    version = current_rule_set(programme)
    client = sign_in_verified(Client(), actors[who])
    for url in (RULES, EDIT, reverse("eligibility:rule-version", args=[version.pk])):
        assert getattr(client, method)(url).status_code == 404, url
    assert RuleSet.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_people_are_sent_to_sign_in(programme, method):
    version = current_rule_set(programme)
    for url in (RULES, EDIT, reverse("eligibility:rule-version", args=[version.pk])):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign-in"))


def test_caseworkers_read_the_rules_but_cannot_edit_them(client, caseworker, programme):
    sign_in_verified(client, caseworker)
    page = client.get(RULES).content.decode()
    assert "Version 1 (current)" in page and "C2 (" in page and "10 years" in page
    assert EDIT not in page
    assert client.get(EDIT).status_code == 404
    assert client.post(EDIT, form_data(current_rule_set(programme), look_back_years=5)).status_code == 404
    assert RuleSet.objects.count() == 1


def test_a_version_of_another_programme_is_not_found(client, trust_lead, other_programme):
    theirs = current_rule_set(other_programme)
    sign_in_verified(client, trust_lead)
    assert client.get(reverse("eligibility:rule-version", args=[theirs.pk])).status_code == 404


def test_the_lead_sees_the_form_filled_in_with_the_current_rules(client, trust_lead):
    sign_in_verified(client, trust_lead)
    assert EDIT in client.get(RULES).content.decode()
    page = client.get(EDIT).content.decode()
    assert "Save as version 2" in page and 'name="look_back_years"' in page and 'value="10"' in page
    assert re.search(r'<input type="checkbox" name="counted_legal_statuses" value="C2"[^>]* checked>', page)


def test_an_edit_makes_a_new_version_runs_the_rules_and_shows_the_difference(client, trust_lead, caseworker,
                                                                             programme,
                                                                             django_capture_on_commit_callbacks):
    book = Casebook(programme, caseworker)
    w = book.woman()
    book.removed(w, timezone.localdate() - timedelta(days=3000), timezone.localdate() - timedelta(days=100))
    decision = decide(woman=w, by=caseworker, outcome="eligible", reason="Both orders checked.")
    first = current_rule_set(programme)
    sign_in_verified(client, trust_lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EDIT, form_data(first, look_back_years=5))
    second = RuleSet.objects.get(programme=programme, version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("eligibility:rule-version", args=[second.pk])
    assert second.based_on == first and second.created_by == trust_lead and second.look_back_years == 5
    first.refresh_from_db()
    assert first.look_back_years == 10  # a version is never changed
    run = EvaluationRun.objects.get()
    assert run.rule_set == second and run.run_by == trust_lead
    assert RecomputeJob.objects.get().why == "rule set version 2"
    assert list(Decision.objects.all()) == [decision]  # recomputing touches no decision
    page = client.get(response["Location"]).content.decode()
    assert "Version 2 of the rules made" in page and "What changed from version 1" in page
    assert "Look-back window (years)" in page and "<td class=\"govuk-table__cell\">10</td>" in page
    assert "<td class=\"govuk-table__cell\">5</td>" in page
    assert "Version 2 (current)" in page


def test_moving_a_code_shows_it_in_the_difference(client, trust_lead, programme):
    first = current_rule_set(programme)
    data = form_data(first)
    data["counted_legal_statuses"] = [c for c in data["counted_legal_statuses"] if c != "C2"]
    data["review_legal_statuses"] = [*data.get("review_legal_statuses", []), "C2"]
    sign_in_verified(client, trust_lead)
    response = client.post(EDIT, data, follow=True)
    page = response.content.decode()
    assert "Legal status C2" in page and "counted" in page and "for review" in page
    assert current_rule_set(programme).positions["legal_status"]["C2"] == "review"


def test_the_first_version_has_no_difference_and_older_versions_stay_readable(client, trust_lead, programme):
    first = current_rule_set(programme)
    sign_in_verified(client, trust_lead)
    client.post(EDIT, form_data(first, minimum_age=18))
    page = client.get(reverse("eligibility:rule-version", args=[first.pk])).content.decode()
    assert "Version 1" in page and "What changed" not in page and "Version 1 (current)" not in page


def test_an_unchanged_form_makes_no_version(client, trust_lead, programme):
    sign_in_verified(client, trust_lead)
    response = client.post(EDIT, form_data(current_rule_set(programme)), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert RuleSet.objects.count() == 1 and not EvaluationRun.objects.exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"look_back_years": "ten"}, "must be a whole number"),
    ({"look_back_years": ""}, "Enter the look-back window in years"),
    ({"counted_legal_statuses": [], "counted_episode_reasons": []}, "Select at least one legal status"),
])
def test_an_invalid_edit_shows_the_error_summary_and_makes_nothing(client, trust_lead, programme, changes, message):
    sign_in_verified(client, trust_lead)
    data = {k: v for k, v in {**form_data(current_rule_set(programme)), **changes}.items() if v not in ("", [])}
    response = client.post(EDIT, data)
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page and message in page
    assert RuleSet.objects.count() == 1
