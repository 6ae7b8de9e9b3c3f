"""Only removed children are shared in delivery (issue 21, point 3): a release makes delivery
tokens for a woman's removed children only, and a child who was not removed is never served to
Pause, even if an earlier release made a token for them. All data is invented."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eligibility.disclosure import disclose
from sharing.models_delivery import DeliveryRelease, ReleasedChild
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db


def _mother_of_two_removed_and_one_not(world):
    today = timezone.localdate()
    woman = world.cohort.woman(born=today.replace(year=today.year - 30), ethnicity="WBRI",
                               removals=[today - timedelta(days=400), today - timedelta(days=90)])
    kept_at_home = world.cohort.book.child(woman, born=today - timedelta(days=700))  # no removal recorded
    return woman, kept_at_home


def test_a_release_makes_tokens_for_removed_children_only():
    world = delivery_world(women=0)
    woman, kept_at_home = _mother_of_two_removed_and_one_not(world)
    [released] = world.release([woman])
    children = ReleasedChild.objects.filter(released_woman=released)
    assert children.count() == 2 and kept_at_home.pk not in set(children.values_list("child_id", flat=True))
    assert DeliveryRelease.objects.get().children_count == 2


def test_a_child_released_before_who_was_not_removed_is_never_served():
    world = delivery_world(women=0)
    woman, kept_at_home = _mother_of_two_removed_and_one_not(world)
    [released] = world.release([woman])
    world.assign(released)
    removed = list(ReleasedChild.objects.filter(released_woman=released))
    # As an earlier release made it, when every child of hers was released.
    legacy = ReleasedChild.objects.create(programme=world.programme, released_woman=released, child=kept_at_home,
                                          token="LEGACYTOKENQZX")
    for person in (world.pause_lead, world.practitioners[0]):
        served = disclose(person, ReleasedChild.objects.filter(released_woman=released).order_by("pk"),
                          page="/test", reason="test: her children")
        assert [r.pk for r in served.records] == [r.pk for r in removed]
        body = sign_in_verified(Client(), person).get(reverse("delivery:woman", args=[released.pk])).content.decode()
        assert all(r.token in body for r in removed)
        assert legacy.token not in body and "Not removed" not in body
