"""A scoping release made on purpose (issue 16, point 5): nothing arrives ticked, an untouched form
releases nobody, every release goes through a check-your-answers page that writes nothing and
shows what Pause would see, and only the confirmation releases — exactly the women the page
showed, and only if nothing changed meanwhile. All data is synthetic."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.roles import Role
from sharing.models_scoping import ScopingRelease, ScopingWomanRow
from sharing.release_preview import preview_release
from sharing.scoping_release import (
    COLUMN_LABELS,
    release_for_scoping,
    served_columns,
)
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import Cohort, member

pytestmark = pytest.mark.django_db

RELEASE = reverse("scoping:release")
CHECK = reverse("scoping:release-check")
NOBODY = "Choose at least one woman to release, or select all that can be released"


class World:
    """A scoping programme with a confirmed agreement and two groups of six women who can be
    released (each group alike enough to pass the k-check on its own), and two Trust leads."""

    def __init__(self):
        self.programme = f.programme(phase="scoping")
        self.lead = f.AgreementFactory(programme=self.programme).proposed_by
        self.other_lead = member(self.programme, Role.TRUST_LEAD)
        self.cohort = Cohort(self.programme, self.lead)
        today = timezone.localdate()
        self.group_a = [self.cohort.woman(born=date(1991, 2, 1) + timedelta(days=3 * i), ethnicity="WBRI",
                                          removals=[today - timedelta(days=400), today - timedelta(days=90)])
                        for i in range(6)]
        self.group_b = [self.cohort.woman(born=date(1984, 5, 1) + timedelta(days=3 * i), ethnicity="WBRI",
                                          removals=[today - timedelta(days=2000), today - timedelta(days=1500),
                                                    today - timedelta(days=700)])
                        for i in range(6)]
        self.women = self.group_a + self.group_b

    def name_of(self, woman) -> str:
        """Her name as the Trust lead's pages show it (Cohort keeps eight identifiers a woman)."""
        i = self.women.index(woman)
        return " ".join(self.cohort.identifiers[8 * i + 1:8 * i + 3])

    def client(self, person=None):
        return sign_in_verified(Client(), person or self.lead)


@pytest.fixture
def world():
    return World()


def checkboxes(body: str) -> list[str]:
    return re.findall(r'<input[^>]*type="checkbox"[^>]*>', body)


def ticked(body: str) -> set[int]:
    return {int(re.search(r'value="(\d+)"', box).group(1)) for box in checkboxes(body) if " checked" in box}


def confirmation(body: str) -> dict:
    """The check page's form as a browser would submit it."""
    form = body[body.index(f'action="{CHECK}"'):]
    form = form[:form.index("</form>")]
    return {"women": re.findall(r'name="women" value="(\d+)"', form),
            "checked": re.search(r'name="checked" value="(\w+)"', form).group(1)}


def nothing_written() -> bool:
    return not ScopingRelease.objects.exists() and not ScopingWomanRow.objects.exists()


# --- the finding: one click released everyone ------------------------------------------------
def test_the_release_page_arrives_with_nobody_ticked_and_an_untouched_form_releases_nobody(world):
    client = world.client()
    body = client.get(RELEASE).content.decode()
    assert len(checkboxes(body)) == len(world.women)
    assert ticked(body) == set()
    response = client.post(RELEASE, {"choose": "chosen"})  # the form as it arrived: no woman ticked
    body = response.content.decode()
    assert response.status_code == 200 and nothing_written()
    assert NOBODY in body and "govuk-error-summary" in body and "<title>Error:" in body
    assert 'href="#id_women"' in body and 'id="id_women"' in body and 'id="id_women-error"' in body
    assert client.get(CHECK)["Location"] == RELEASE  # nothing chosen: nothing to check


# --- choose, check, confirm ------------------------------------------------------------------
def test_choosing_women_leads_to_a_check_page_that_writes_nothing_and_the_confirmation_releases_them(world):
    client = world.client()
    chosen = world.group_a
    response = client.post(RELEASE, {"choose": "chosen", "women": [w.pk for w in chosen]})
    assert response.status_code == 302 and response["Location"] == CHECK and nothing_written()

    response = client.get(CHECK)
    body = response.content.decode()
    assert response.status_code == 200 and nothing_written()
    assert re.search(r'id="women-count">6 women<', body)
    expected = preview_release(world.programme, chosen, by=world.lead)
    report = expected.report
    assert report["released_now"] == 6 and report["served"] + report["withheld"] == report["rows"] == 6
    assert f'id="served">{report["served"]}<' in body
    for column in served_columns():
        assert f">{COLUMN_LABELS[column]}</" in body  # each served column: in the levels and the preview
        assert report["level_names"][column] in body
    combinations = body[body.index('id="combinations"'):]
    combinations = combinations[:combinations.index("</table>")]
    assert expected.combinations, "the world is made so that the six women are served"
    for values, count in expected.combinations:
        cells = "".join(f'<td class="govuk-table__cell">{v}</td>' for v in values)
        assert cells + f'<td class="govuk-table__cell govuk-table__cell--numeric">{count}</td>' in combinations
    for table in expected.tables:
        assert table.title in body
    # what Pause would see carries no name; the names are only in the list of the women chosen
    named = body[body.index('id="women-named"'):]
    assert all(f"Zelphine{w.pk}" not in combinations for w in chosen)
    assert len(re.findall(r"<li>", named[:named.index("</ul>")])) == 6
    viewed = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=world.lead, page=CHECK).get()
    assert viewed.subject_count == 6

    response = client.post(CHECK, confirmation(body))
    assert response.status_code == 302 and response["Location"] == RELEASE
    release = ScopingRelease.objects.get()
    assert set(ScopingWomanRow.objects.values_list("woman_id", flat=True)) == {w.pk for w in chosen}
    assert release.report == report and release.released_by == world.lead
    tokens = list(ScopingWomanRow.objects.values_list("token", flat=True))
    assert not any(t in body for t in tokens)  # the check page showed no token
    banner = client.get(RELEASE).content.decode()
    assert f"6 women released to Pause. The snapshot now serves {report['served']} of 6 rows." in banner
    assert client.get(CHECK)["Location"] == RELEASE  # the choice is spent


def test_select_all_that_can_be_released_chooses_every_releasable_woman_and_still_goes_through_the_check(world):
    client = world.client()
    response = client.post(RELEASE, {"choose": "all", "women": [world.group_a[0].pk]})  # a tick does not narrow it
    assert response["Location"] == CHECK and nothing_written()
    body = client.get(CHECK).content.decode()
    assert re.search(r'id="women-count">12 women: all who can be released<', body) and nothing_written()
    answers = confirmation(body)
    assert sorted(map(int, answers["women"])) == sorted(w.pk for w in world.women)
    client.post(CHECK, answers)
    assert set(ScopingWomanRow.objects.values_list("woman_id", flat=True)) == {w.pk for w in world.women}
    assert ScopingRelease.objects.get().women == 12


def test_change_brings_back_her_own_choice_ticked_and_only_when_she_asks(world):
    client = world.client()
    client.post(RELEASE, {"women": [w.pk for w in world.group_b]})
    assert 'href="/scoping/release/?change=1"' in client.get(CHECK).content.decode()
    assert ticked(client.get(RELEASE + "?change=1").content.decode()) == {w.pk for w in world.group_b}
    assert ticked(client.get(RELEASE).content.decode()) == set()  # coming back later: nothing ticked
    assert nothing_written()


def test_a_release_the_check_would_refuse_goes_back_to_choosing_with_the_reason(world):
    client = world.client()
    client.post(RELEASE, {"women": [w.pk for w in world.group_b[:3]]})  # three women cannot pass k = 5
    response = client.get(CHECK)
    assert response["Location"] == RELEASE + "?change=1" and nothing_written()
    body = client.get(response["Location"]).content.decode()
    assert "Nothing was released: no generalisation gives every combination" in body
    assert ticked(body) == {w.pk for w in world.group_b[:3]}


def test_the_page_says_which_columns_are_checked_from_the_agreed_items(world):
    body = world.client().get(RELEASE).content.decode()
    words = [COLUMN_LABELS[c].lower() for c in served_columns()]  # the factory's version agrees every item
    assert f"every combination of {', '.join(words[:-1])} and {words[-1]} is shared by at least 5 women" in body
    f.AgreementFactory(programme=world.programme, data_items={"scoping": ["age_band", "outcome_types"],
                                                              "delivery": ["name"]})  # ADR 28
    body = world.client().get(RELEASE).content.decode()
    assert "every combination of age band and outcome types is shared by at least 5 women" in body


# --- stale confirmations ------------------------------------------------------------------------
def test_a_confirmation_after_someone_else_released_her_women_is_refused_and_changes_nothing(world):
    client = world.client()
    client.post(RELEASE, {"women": [w.pk for w in world.group_a]})
    answers = confirmation(client.get(CHECK).content.decode())
    release_for_scoping(world.programme, world.group_a, by=world.other_lead)  # meanwhile, in another office
    before = (ScopingRelease.objects.count(), list(ScopingWomanRow.objects.values_list("pk", "withheld")))

    response = client.post(CHECK, answers)
    assert response.status_code == 302 and response["Location"] == RELEASE + "?change=1"
    assert (ScopingRelease.objects.count(), list(ScopingWomanRow.objects.values_list("pk", "withheld"))) == before
    body = client.get(response["Location"]).content.decode()
    assert "Nothing was released: some of the women you chose can no longer be released" in body
    assert body.count(": already in the scoping release") == 6
    assert all(f"{world.name_of(w)}: already in the scoping release" in body for w in world.group_a)
    assert "govuk-error-summary" in body and ticked(body) == set()  # they are not candidates any more


def test_a_confirmation_after_a_woman_became_unreleasable_names_her_and_goes_back_to_choosing(world):
    client = world.client()
    chosen = world.women
    client.post(RELEASE, {"choose": "all"})
    answers = confirmation(client.get(CHECK).content.decode())
    open_restriction(woman=chosen[3], reason="accuracy", by=world.other_lead)

    response = client.post(CHECK, answers)
    assert response["Location"] == RELEASE + "?change=1" and nothing_written()
    body = client.get(response["Location"]).content.decode()
    assert f"{world.name_of(chosen[3])}: a restriction on her records is open" in body
    assert ticked(body) == {w.pk for w in chosen} - {chosen[3].pk}  # her own choice, less the woman who left


def test_a_confirmation_after_the_snapshot_changed_is_refused_and_checked_again(world):
    client = world.client()
    client.post(RELEASE, {"women": [w.pk for w in world.group_a]})
    answers = confirmation(client.get(CHECK).content.decode())
    release_for_scoping(world.programme, world.group_b, by=world.other_lead)  # other women, meanwhile

    response = client.post(CHECK, answers)
    assert response["Location"] == CHECK
    assert ScopingRelease.objects.count() == 1
    assert not ScopingWomanRow.objects.filter(woman__in=world.group_a).exists()
    body = client.get(CHECK).content.decode()
    assert "the scoping release has changed since you checked your answers" in body
    assert re.search(r"Rows in the snapshot</dt><dd[^>]*>12<", body)  # worked out again on the new snapshot
    client.post(CHECK, confirmation(body))
    assert ScopingWomanRow.objects.count() == 12 and ScopingRelease.objects.count() == 2


def test_a_tampered_or_incomplete_confirmation_releases_nobody(world):
    client = world.client()
    client.post(RELEASE, {"women": [w.pk for w in world.group_a]})
    answers = confirmation(client.get(CHECK).content.decode())
    for data in ({**answers, "checked": "0" * 64}, {"women": answers["women"]}, {"checked": answers["checked"]},
                 {**answers, "women": [*answers["women"], str(world.group_b[0].pk)]}):
        response = client.post(CHECK, data)
        assert response.status_code == 302 and nothing_written(), data
        client.get(response["Location"])  # reads the refusal
        client.post(RELEASE, {"women": [w.pk for w in world.group_a]})


# --- who may ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
                                  Role.PAUSE_PRACTITIONER])
def test_other_roles_get_404_on_the_check_page_and_release_nobody(world, role):
    client = sign_in_verified(Client(), member(world.programme, role))
    for method in ("get", "post"):
        response = getattr(client, method)(CHECK, {"women": [w.pk for w in world.group_a], "checked": "x"}
                                           if method == "post" else None)
        assert response.status_code == 404, (role, method)
    assert nothing_written()


def test_a_trust_lead_of_another_programme_cannot_check_or_confirm_its_women(world, other_programme):
    client = sign_in_verified(Client(), member(other_programme, Role.TRUST_LEAD))
    mine = world.client()
    mine.post(RELEASE, {"women": [w.pk for w in world.group_a]})
    answers = confirmation(mine.get(CHECK).content.decode())
    assert client.post(RELEASE, {"women": answers["women"]}).status_code == 200
    assert client.get(CHECK)["Location"] == RELEASE
    client.post(CHECK, answers)
    assert nothing_written()


def test_anonymous_people_are_sent_to_sign_in(world):
    for method in ("get", "post"):
        response = getattr(Client(), method)(CHECK)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign-in"))
