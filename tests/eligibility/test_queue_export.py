"""The decision queue as CSV (issue 24, point 2): for Trust caseworkers and leads only, every row
the filters give in the queue's order, cells a spreadsheet cannot run as formulas, and one
disclosure entry naming every woman in the file."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.decisions import decide
from eligibility.recompute import recompute
from eligibility.views.queue import PER_PAGE
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

EXPORT = reverse("eligibility:queue-export")
TODAY = timezone.localdate()
RECENT = (TODAY - timedelta(days=800), TODAY - timedelta(days=400), TODAY - timedelta(days=100))


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
    made = {
        "ada": a_woman(book, "P-ADA", "Ada", "Lovelace", removed=2),
        "eve": a_woman(book, "=HYPERLINK(\"http://x\")", "Eve", "-Minus", born=date(1985, 1, 2), removed=3),
        "bea": a_woman(book, "P-BEA", "Bea", "Brown", removed=1),  # not proposed
    }
    recompute(programme, by=caseworker)
    decide(woman=made["ada"], by=caseworker, outcome="at_risk", reason="Checked")
    return made


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="decision-queue-')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def disclosures(person):
    return AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=person).exclude(reason="staff details")


@pytest.mark.parametrize("who", ["caseworker", "trust_lead"])
def test_trust_caseworkers_and_leads_export_the_queue_as_the_filters_give_it(actors, women, who):
    person = actors[who]
    client = sign_in_verified(Client(), person)
    rows = rows_of(client.post(EXPORT, {"sort": "removed", "order": "desc"}))
    assert rows == [
        ["Reference", "Name", "Date of birth", "Proposal", "Decision", "Last removal"],
        ["'=HYPERLINK(\"http://x\")", "Eve -Minus", "2 January 1985", "Eligible",
         "No decision yet", rows[1][5]],
        ["P-ADA", "Ada Lovelace", "1 May 1990", "Eligible", "At risk", rows[2][5]],
    ]
    assert rows[1][5] != "None" and rows[2][5] != "None"
    [entry] = disclosures(person)
    assert sorted(s.subject for s in entry.subjects.all()) == sorted(
        f"eligibility.woman:{women[k].pk}" for k in ("ada", "eve"))
    assert entry.reason == "decision queue export (CSV)" and entry.page == EXPORT


def test_every_cell_that_could_start_a_formula_is_quoted(client, caseworker, book, programme):
    for n, start in enumerate(("=", "+", "-", "@")):
        a_woman(book, f"{start}P{n}", f"{start}Ann", f"{start}Synthetic")
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    for row in rows_of(client.post(EXPORT))[1:]:
        assert row[0].startswith("'") and row[1].startswith("'"), row


def test_the_export_holds_every_row_of_the_filters_not_only_the_page_shown(client, caseworker, book, programme,
                                                                          women):
    for n in range(PER_PAGE + 1):
        a_woman(book, f"Q{n:03}", "Ann", "Synthetic")
    recompute(programme, by=caseworker)
    sign_in_verified(client, caseworker)
    assert len(rows_of(client.post(EXPORT, {"proposal": "any"}))) == 1 + PER_PAGE + 1 + 3
    assert [r[0] for r in rows_of(client.post(EXPORT, {"decision": "at_risk"}))[1:]] == ["P-ADA"]
    [*_, last] = disclosures(caseworker).order_by("pk")
    assert last.subjects.count() == 1  # only the women in the file


def test_the_queue_offers_the_export_with_its_filters(client, caseworker, women):
    sign_in_verified(client, caseworker)
    page = client.get(reverse("eligibility:queue"), {"proposal": "eligible", "sort": "removed"}).content.decode()
    form = page[page.index(f'action="{EXPORT}"'):]
    form = form[: form.index("</form>")]
    assert 'name="proposal" value="eligible"' in form and 'name="sort" value="removed"' in form
    assert "Download these 2 women as a spreadsheet (CSV)" in form


def test_before_any_run_the_export_has_only_its_header_and_discloses_nothing(client, caseworker):
    sign_in_verified(client, caseworker)
    assert rows_of(client.post(EXPORT)) == [["Reference", "Name", "Date of birth", "Proposal", "Decision",
                                             "Last removal"]]
    assert not disclosures(caseworker).exists()


def test_the_export_is_posted_only(client, caseworker, women):
    sign_in_verified(client, caseworker)
    assert client.get(EXPORT).status_code == 405 and not disclosures(caseworker).exists()


@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin"])
def test_no_other_role_exports_the_queue(actors, women, who):
    client = sign_in_verified(Client(), actors[who])
    response = client.post(EXPORT)
    assert response.status_code == 404 and b"Lovelace" not in response.content
    assert not disclosures(actors[who]).exists()


def test_a_trust_caseworker_of_another_programme_exports_only_their_own(other_programme, women):
    outsider = f.member(other_programme, "trust_caseworker")
    rows = rows_of(sign_in_verified(Client(), outsider).post(EXPORT, {"proposal": "any"}))
    assert len(rows) == 1 and not disclosures(outsider).exists()
