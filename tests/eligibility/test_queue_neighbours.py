"""Next and previous women on a woman's page (issue 24, point 2), in the queue's order with the
queue's filters, carried from the queue to her page and back."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eligibility.decisions import decide
from eligibility.queue_rows import latest_run, neighbours
from eligibility.recompute import recompute
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAYS = (900, 600, 300, 100)


@pytest.fixture
def women(programme, caseworker):
    """Ann (2 removed), Bel (3), Cas (4) all eligible; Dot (1) not proposed. The rules have run."""
    book = Casebook(programme, caseworker)
    made = {}
    for name, removed in (("ann", 2), ("bel", 3), ("cas", 4), ("dot", 1)):
        w = f.WomanFactory(programme=programme, first_extract=book.extract, trust_person_id=name,
                           forename=name.title(), surname="Synthetic", date_of_birth=date(1990, 5, 1))
        book.removed(w, *(TODAY - timedelta(days=d) for d in DAYS[:removed]))
        made[name] = w
    recompute(programme, by=caseworker)
    return made


def around(programme, women, name, **params):
    before, after = neighbours(latest_run(programme), women[name].pk, params)
    names = {w.pk: n for n, w in women.items()}
    return names.get(before), names.get(after)


def test_neighbours_follow_the_queues_default_order(programme, women):
    assert around(programme, women, "ann") == (None, "bel")  # proposal, then woman: pk order
    assert around(programme, women, "bel") == ("ann", "cas")
    assert around(programme, women, "cas") == ("bel", None)  # Dot is not proposed: not in the default queue


def test_neighbours_follow_the_sort_and_the_filters(programme, women):
    assert around(programme, women, "cas", sort="removed", order="desc") == (None, "bel")
    assert around(programme, women, "cas", proposal="any", sort="removed") == ("bel", None)
    assert around(programme, women, "dot", proposal="any", sort="removed") == (None, "ann")


def test_a_woman_the_filters_leave_out_still_leads_on_to_the_next(programme, caseworker, women):
    decide(woman=women["bel"], by=caseworker, outcome="eligible", reason="Checked")
    # "No decision yet": Bel has just left the list, yet next still goes on from where she was
    assert around(programme, women, "bel", decision="undecided") == ("ann", "cas")
    assert around(programme, women, "ann", decision="undecided") == (None, "cas")


def test_neighbours_cost_one_query(programme, women):
    run = latest_run(programme)
    with CaptureQueriesContext(connection) as ctx:
        neighbours(run, women["bel"].pk, {"sort": "decision"})
    assert len(ctx.captured_queries) == 1


def test_her_page_links_to_the_next_and_previous_woman_with_the_queues_filters(client, caseworker, women):
    sign_in_verified(client, caseworker)
    queue = client.get(reverse("eligibility:queue"), {"proposal": "any", "sort": "removed"}).content.decode()
    her = reverse("eligibility:woman", args=[women["ann"].pk])
    assert f'href="{her}?proposal=any&amp;sort=removed"' in queue  # the queue's link carries its filters
    page = client.get(her, {"proposal": "any", "sort": "removed"}).content.decode()
    prev_url = reverse("eligibility:woman", args=[women["dot"].pk]) + "?proposal=any&amp;sort=removed"
    next_url = reverse("eligibility:woman", args=[women["bel"].pk]) + "?proposal=any&amp;sort=removed"
    assert f'href="{prev_url}" rel="prev"' in page and f'href="{next_url}" rel="next"' in page
    assert "Previous woman" in page and "Next woman" in page
    assert f'href="{reverse("eligibility:queue")}?proposal=any&amp;sort=removed">Back to the decision queue' in page


def test_after_a_decision_her_page_keeps_the_filters_and_the_next_link(client, caseworker, women):
    sign_in_verified(client, caseworker)
    her = reverse("eligibility:woman", args=[women["ann"].pk])
    response = client.post(her + "?decision=undecided", {"outcome": "eligible", "reason": "Checked"})
    assert response.status_code == 302 and response["Location"] == her + "?decision=undecided"
    page = client.get(response["Location"]).content.decode()
    nxt = reverse("eligibility:woman", args=[women["bel"].pk]) + "?decision=undecided"
    assert f'href="{nxt}" rel="next"' in page and 'rel="prev"' not in page


def test_the_neighbour_links_name_nobody(client, caseworker, women):
    """The links say "Previous woman" and "Next woman": her neighbours are not disclosed."""
    sign_in_verified(client, caseworker)
    page = client.get(reverse("eligibility:woman", args=[women["bel"].pk])).content.decode()
    assert "Ann Synthetic" not in page and "Cas Synthetic" not in page and "Bel Synthetic" in page
