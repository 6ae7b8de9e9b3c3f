"""The agreement's terms that govern delivery (issue 21): the days the Trust lead has to settle a
change since release come from the agreement in force, not from code; an address to contact her
at is asked for, and kept, only when the agreement shares one; a delivery release needs a Trust
privacy notice in force and cites it; a waiting notice version can be withdrawn by its publisher.
Frozen time, no worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from audit.core.models import AuditEntry
from pause_portal.tenancy.roles import Role
from pause_portal.tenancy.selectors import membership_in
from sharing.delivery_access import visible_released_women
from sharing.delivery_changes import changes_since_release
from sharing.delivery_release import (
    NO_NOTICE,
    DeliveryReleaseRefused,
    ToRelease,
    release_for_delivery,
)
from sharing.models_delivery import DeliveryRelease, ReleasedWoman
from sharing.models_notices import Controller, PrivacyNotice
from sharing.models_scoping import ChangeStatus
from sharing.privacy_notices import publish_notice
from sharing.scoping_term import current_trust_notice
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.test_pause_view_follows_trust import LATER, PLACES, T0, Setting
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db


def _version(world, **changes):
    """A new confirmed version of the world's agreement, changed as given."""
    return f.AgreementFactory(programme=world.programme, proposed_by=world.trust_lead, decided_by=world.caldicott,
                              **changes)


@pytest.mark.parametrize("way", list(LATER))
def test_the_days_to_settle_a_change_are_the_agreements(way):
    make, kind = LATER[way]
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        s = Setting()
        other = delivery_world(women=1)  # another programme keeps the default 14 days in the same query
        _version(s.world, decide_changes_within_days=5)
        make(s)
        [change] = changes_since_release(s.world.programme)
        assert change.decide_by == T0 + timedelta(days=1) + timedelta(days=5)
        page = sign_in_verified(Client(), s.world.trust_lead).get(reverse("delivery:changes")).content.decode()
        assert "Settle each within 5 days" in page
    with time_machine.travel(change.decide_by - timedelta(seconds=1), tick=False):
        assert s.both_see_her()
    with time_machine.travel(change.decide_by, tick=False):
        assert not s.both_see_her()  # five days, not fourteen
    with time_machine.travel(change.decide_by + timedelta(days=10), tick=False):
        lead = membership_in(other.pause_lead, other.programme.pk)
        assert list(visible_released_women(other.pause_lead, lead)) == other.released


def test_a_longer_period_confirmed_later_applies_on_the_next_request():
    make, _ = LATER["unconfirmed absence"]
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        s = Setting()
        make(s)
    with time_machine.travel(T0 + timedelta(days=16), tick=False):
        assert not s.both_see_her()  # past the 14 days of the version in force
        _version(s.world, decide_changes_within_days=28)
        assert s.seen(s.her) == set(PLACES)  # the next request reads the new version's 28 days


# --- the address is asked for, and kept, only when the agreement shares one ---------------------
def test_without_the_contact_address_item_no_address_is_asked_for_or_kept():
    world = delivery_world(women=0)
    _version(world, data_items={"scoping": ["scoping_tokens"], "delivery": ["name", "trust_contact"]})
    women = world.women(2)
    lead = sign_in_verified(Client(), world.trust_lead)
    body = lead.get(reverse("delivery:release")).content.decode()
    assert "Address to contact her at" not in body and 'name="address_' not in body
    with pytest.raises(DeliveryReleaseRefused) as exc:  # an address given anyway is refused, nothing written
        release_for_delivery(world.programme, [ToRelease(women[0], "1 Synthetic Row")], by=world.trust_lead,
                             trust_contact=world.trust_lead)
    assert "does not share an address to contact her at, so leave it empty" in " ".join(exc.value.problems)
    assert not DeliveryRelease.objects.exists()
    response = lead.post(reverse("delivery:release"), {"women": [w.pk for w in women],
                                                       "trust_contact": world.trust_lead.pk})
    assert response.status_code == 302
    assert [bytes(r.address or b"") for r in ReleasedWoman.objects.all()] == [b"", b""]


def test_with_the_item_each_missing_address_is_named_once_by_her_name():
    world = delivery_world(women=0)
    women = world.women(2)
    lead = sign_in_verified(Client(), world.trust_lead)
    response = lead.post(reverse("delivery:release"), {"women": [w.pk for w in women],
                                                       "trust_contact": world.trust_lead.pk})
    body = response.content.decode()
    assert response.status_code == 400 and not ReleasedWoman.objects.exists()
    summary = body.split('govuk-error-summary__list"', 1)[1].split("</ul>", 1)[0]
    assert summary.count("Enter the address Pause should contact") == 2
    assert "contact her at" not in summary  # each names the woman, so the two are told apart


# --- a release needs the Trust's notice in force, and cites it -----------------------------------
def test_a_release_with_no_trust_notice_in_force_is_refused_and_the_page_says_why():
    world = delivery_world(women=0)
    PrivacyNotice.objects.filter(programme=world.programme, controller=Controller.TRUST).update(
        status=ChangeStatus.WITHDRAWN)
    assert current_trust_notice(world.programme) is None
    with pytest.raises(DeliveryReleaseRefused) as exc:
        world.release(world.women(1))
    assert NO_NOTICE in exc.value.problems and not DeliveryRelease.objects.exists()
    body = sign_in_verified(Client(), world.trust_lead).get(reverse("delivery:release")).content.decode()
    assert "No version of the Trust&#x27;s privacy notice is in force" in body


def test_every_release_cites_the_notice_in_force():
    world = delivery_world(women=1)
    assert DeliveryRelease.objects.get().trust_notice == current_trust_notice(world.programme)


# --- withdrawing a waiting notice version ---------------------------------------------------------
def test_its_publisher_withdraws_a_waiting_version_and_nobody_else_can():
    world = delivery_world(women=0)
    waiting = publish_notice(programme=world.programme, by=world.trust_lead, text="Synthetic notice, version 2")
    other_lead = f.member(world.programme, Role.TRUST_LEAD)
    for person in (other_lead, world.caldicott, world.pause_lead):
        response = sign_in_verified(Client(), person).post(reverse("governance:notice-withdraw"),
                                                          {"proposal": waiting.pk, "confirmed": "yes"})
        assert response.status_code in (403, 404), person
    waiting.refresh_from_db()
    assert waiting.status == ChangeStatus.PROPOSED
    lead = sign_in_verified(Client(), world.trust_lead)
    page = lead.get(reverse("governance:notices")).content.decode()
    assert f"Withdraw version {waiting.version}" in page
    asked = lead.post(reverse("governance:notice-withdraw"), {"proposal": waiting.pk})
    assert asked.status_code == 200 and escape(f"Are you sure you want to withdraw {waiting.label}?") in asked.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == ChangeStatus.PROPOSED  # asking changes nothing
    response = lead.post(reverse("governance:notice-withdraw"), {"proposal": waiting.pk, "confirmed": "yes"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == ChangeStatus.WITHDRAWN
    assert AuditEntry.objects.filter(object_repr=f"sharing.privacynotice:{waiting.pk}").count() == 2
    assert lead.post(reverse("governance:notice-withdraw"), {"proposal": waiting.pk}).status_code == 404
    assert lead.post(reverse("governance:notice-withdraw"),
                     {"proposal": waiting.pk, "confirmed": "yes"}).status_code == 404
