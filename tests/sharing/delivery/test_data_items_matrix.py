"""Data items drive disclosure in delivery (issue 21, point 1; ADR 28): a matrix of agreement item
sets against every Pause delivery page and export. For each delivery item, a newly confirmed
agreement version that leaves it out takes it off every page, for both Pause roles, on the very
next request (the page and CSV bytes are searched for the item's actual synthetic values); the
next version that puts it back makes it appear again on the next request."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eligibility.models import Woman
from pause_portal import presenting
from pause_portal.tenancy.models import Phase
from pseudonymisation.fields import Protector
from sharing.agreements import confirm_agreement, propose_agreement
from sharing.concerns import raise_concern
from sharing.data_items import ITEMS
from sharing.delivery_release import child_values
from sharing.demo_delivery import agreement_values
from sharing.models_delivery import ReleasedChild, ReleasedWoman
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db

DELIVERY = list(ITEMS[Phase.DELIVERY])
CHILD_COLUMNS = {"child_delivery_tokens": "Child", "child_year_of_birth": "Year of birth",
                 "child_removal_year": "Removal year", "child_outcome": "Outcome"}


def agree(world, items: list[str]):
    """A new agreement version with these delivery items, proposed by the Trust lead and confirmed
    by the Caldicott Guardian, through the real actions."""
    values = agreement_values(world.programme, today=timezone.localdate())
    values["data_items"] = {**values["data_items"], "delivery": list(items)}
    proposed = propose_agreement(programme=world.programme, by=world.trust_lead, values=values,
                                 change_reason=f"Delivery items now: {', '.join(items)}")
    return confirm_agreement(agreement=proposed, by=world.caldicott, justification="Within the agreed purpose")


def pages(world, her: ReleasedWoman, concern) -> dict[str, str]:
    """Every Pause delivery page and export about her, for the Pause lead and her practitioner."""
    lead, practitioner = sign_in_verified(Client(), world.pause_lead), sign_in_verified(Client(), world.practitioners[0])
    out = {}
    for who, client in (("lead", lead), ("practitioner", practitioner)):
        urls = {"woman page": reverse("delivery:woman", args=[her.pk]),
                "casework woman": reverse("casework:woman", args=[her.pk]),
                "casework contact": reverse("casework:contact", args=[her.pk]),
                "casework raise": reverse("casework:raise", args=[her.pk]),
                "casework concerns": reverse("casework:concerns"),
                "casework concern": reverse("casework:concern", args=[concern.pk])}
        urls["released women" if who == "lead" else "caseload"] = reverse(
            "delivery:women" if who == "lead" else "delivery:caseload")
        if who == "lead":  # recording contact is her practitioner's
            del urls["casework contact"]
        for name, url in urls.items():
            response = client.get(url)
            assert response.status_code == 200, (who, name)
            out[f"{who}: {name}"] = response.content.decode()
    export = practitioner.post(reverse("delivery:caseload-export"))
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    out["practitioner: caseload CSV export"] = export.content.decode()
    return out


def children_table(page: str) -> list[dict[str, str]]:
    """The woman page's children table, as rows keyed by column heading."""
    found = re.search(r'<table class="govuk-table" id="children">(.*?)</table>', page, re.S)
    if not found:
        return []
    heads = re.findall(r'<th scope="col" class="govuk-table__header">(.*?)</th>', found.group(1))
    rows = re.findall(r'<tr class="govuk-table__row">((?:<td.*?</td>)+)</tr>', found.group(1))
    return [dict(zip(heads, re.findall(r'<td class="govuk-table__cell">(.*?)</td>', r), strict=True)) for r in rows]


def needles(world, her: ReleasedWoman) -> dict[str, list[str]]:
    """Each woman item's actual synthetic values, as the pages would write them."""
    woman = her.woman
    key = Protector.load(woman.programme_id, Woman.key_phase)
    dob = woman.reveal(key, "date_of_birth")
    address = her.reveal(Protector.load(her.programme_id, ReleasedWoman.key_phase), "address")
    return {
        "name": [woman.reveal(key, "forename"), woman.reveal(key, "surname")],
        "date_of_birth": [presenting.day(dob)],
        "postcode": [woman.reveal(key, "postcode")],
        "contact_address": [line for line in address.splitlines() if line.strip()],
        "trust_contact": [her.trust_contact.full_name],
    }


@pytest.fixture
def world():
    world = delivery_world(women=2)
    her = world.released[0]
    world.assign(her)
    world.assign(world.released[1])
    concern = raise_concern(her, by=world.practitioners[0], kind="safeguarding", summary="Synthetic concern about her")
    world.her, world.concern = her, concern
    agree(world, DELIVERY)  # every item: the baseline
    return world


def test_every_delivery_item_is_on_some_page_when_agreed(world):
    shown = pages(world, world.her, world.concern)
    for item, values in needles(world, world.her).items():
        assert all(any(v in page for page in shown.values()) for v in values), item
    kids = children_table(shown["lead: woman page"])
    assert kids and set(kids[0]) == set(CHILD_COLUMNS.values())


@pytest.mark.parametrize("item", DELIVERY)
def test_an_item_left_out_never_appears_and_comes_back_when_agreed_again(world, item):
    her = world.her
    baseline = pages(world, her, world.concern)
    values = needles(world, her).get(item, [])
    where = {name for name, page in baseline.items() if any(v in page for v in values)}
    assert not values or where  # each woman item is shown somewhere when agreed

    agree(world, [i for i in DELIVERY if i != item])  # the Caldicott Guardian confirms it left out
    without = pages(world, her, world.concern)  # the very next request
    for name, page in without.items():
        for v in values:
            assert v not in page, (item, name, v)
    for role in ("lead", "practitioner"):
        kids = children_table(without[f"{role}: woman page"])
        if item in CHILD_COLUMNS:
            assert kids and all(CHILD_COLUMNS[item] not in row for row in kids), item
            if item == "child_delivery_tokens":
                tokens = ReleasedChild.objects.filter(released_woman=her).values_list("token", flat=True)
                assert all(t not in page for t in tokens for page in without.values())
        else:
            assert kids and set(kids[0]) == set(CHILD_COLUMNS.values())  # the other items stay

    agree(world, DELIVERY)  # put back: a new confirmed version
    again = pages(world, her, world.concern)
    for name in where:
        assert all(v in again[name] for v in values if v in baseline[name]), (item, name)
    if item in CHILD_COLUMNS:
        kids = children_table(again["lead: woman page"])
        assert kids and all(CHILD_COLUMNS[item] in row for row in kids)


def test_child_values_serve_only_the_fields_allowed(world):
    children = list(ReleasedChild.objects.filter(released_woman=world.her))
    everything = child_values(children)
    only_token = child_values(children, frozenset({"token"}))
    for c in children:
        assert everything[c.pk].removal_year and everything[c.pk].outcome and everything[c.pk].token == c.token
        assert only_token[c.pk].token == c.token
        assert (only_token[c.pk].birth_year, only_token[c.pk].removal_year, only_token[c.pk].outcome) == (None,) * 3
    nothing = child_values(children, frozenset())
    assert all(v.token is None and v.outcome is None for v in nothing.values())


def test_with_no_child_item_the_woman_page_says_so(world):
    agree(world, ["name", "date_of_birth"])
    page = sign_in_verified(Client(), world.pause_lead).get(reverse("delivery:woman", args=[world.her.pk]))
    text = page.content.decode()
    assert "The data-sharing agreement shares nothing about her children." in text and 'id="children"' not in text


def test_the_pages_say_not_shared_and_the_release_page_names_the_agreed_items(world):
    agree(world, ["date_of_birth", "child_delivery_tokens"])
    listing = sign_in_verified(Client(), world.pause_lead).get(reverse("delivery:women")).content.decode()
    assert "Name not shared under the agreement" in listing and "Not shared under the agreement" in listing
    assert "Not recorded" not in listing
    release = sign_in_verified(Client(), world.trust_lead).get(reverse("delivery:release")).content.decode()
    assert "delivery: her date of birth; a delivery token for each of her children, in place of their names." in release
    assert "her postcode" not in release
