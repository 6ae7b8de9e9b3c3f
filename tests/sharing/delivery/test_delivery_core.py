"""The delivery release, caseload permissions and the disclosure policy's delivery rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from eligibility.decisions import decide
from eligibility.disclosure import disclose
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.selectors import membership_in
from sharing import caseloads
from sharing.delivery_access import visible_released_women
from sharing.delivery_release import (
    DeliveryReleaseRefused,
    ToRelease,
    child_values,
    release_for_delivery,
)
from sharing.models_delivery import CaseloadUserObjectPermission, Participation, ReleasedChild
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db


def _seen(person, world):
    return set(visible_released_women(person, membership_in(person, world.programme.pk))
               .values_list("pk", flat=True))


def test_release_makes_live_references_and_delivery_tokens(db):
    world = delivery_world(women=2)
    a, b = world.released
    assert a.woman_id and a.release.agreement.version == 1 and a.release.women_count == 2
    children = list(ReleasedChild.objects.filter(released_woman=a))
    assert children and all(c.token.startswith("C") for c in children)
    values = child_values(children)
    assert all(v.removal_year for v in values.values())


def test_release_refuses_someone_who_cannot_be_released(db):
    world = delivery_world(women=0)
    [w] = world.women(1)
    decide(woman=w, by=world.trust_lead, outcome="not_eligible", reason="Synthetic")
    with pytest.raises(DeliveryReleaseRefused) as refused:
        release_for_delivery(world.programme, [ToRelease(w, "1 Road")], by=world.trust_lead,
                             trust_contact=world.trust_lead)
    assert "latest decision" in refused.value.problems[0]
    with pytest.raises(DeliveryReleaseRefused):
        release_for_delivery(world.programme, [ToRelease(w, "1 Road")], by=world.pause_lead,
                             trust_contact=world.trust_lead)


def test_lead_sees_all_practitioner_only_own_and_reassignment_moves_access(db):
    world = delivery_world(women=3)
    a, b, c = world.released
    p1, p2 = world.practitioners
    assert _seen(world.pause_lead, world) == {a.pk, b.pk, c.pk}
    assert _seen(p1, world) == set()
    world.assign(a, p1)
    world.assign(b, p2)
    assert _seen(p1, world) == {a.pk} and _seen(p2, world) == {b.pk}
    world.assign(a, p2)
    assert _seen(p1, world) == set() and _seen(p2, world) == {a.pk, b.pk}
    shown = disclose(p1, [a, b], page="/test")
    assert shown.records == [] and shown.entry is None
    shown = disclose(p2, [a, b, c], page="/test")
    assert {r.pk for r in shown} == {a.pk, b.pk} and "nhs_number" not in shown.fields[world.programme.pk]


def test_restriction_hides_at_once_and_decline_leaves_after_30_days(db):
    world = delivery_world(women=2)
    a, b = world.released
    open_restriction(woman=a.woman, reason="restriction_request", by=world.trust_lead)
    assert _seen(world.pause_lead, world) == {b.pk}
    b.participation, b.participation_ended_at = Participation.DECLINED, timezone.now() - timedelta(days=29)
    b.save()
    assert _seen(world.pause_lead, world) == {b.pk}
    b.participation_ended_at = timezone.now() - timedelta(days=31)
    b.save()
    assert _seen(world.pause_lead, world) == set()


def test_closing_ends_views_and_permissions(db):
    world = delivery_world(women=1)
    [a] = world.released
    world.assign(a, world.practitioners[0])
    Programme.objects.filter(pk=world.programme.pk).update(phase=Phase.CLOSED)
    assert _seen(world.practitioners[0], world) == set() and _seen(world.pause_lead, world) == set()
    caseloads.end_all(world.programme, by=world.trust_lead, why="programme closed")
    assert not CaseloadUserObjectPermission.objects.exists()
