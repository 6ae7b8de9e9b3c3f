"""Safeguarding concerns and serious incidents: who may raise, acknowledge and close them, what
is recorded (the lawful basis; the texts encrypted), refusals that change nothing, and the
disclosure policy serving them (Pause only for women in view, the Trust its programme's)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.disclosure import disclose
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.models import Phase, Programme
from sharing.concerns import acknowledge_concern, close_concern, raise_concern
from sharing.models_delivery import ConcernStatus, SafeguardingConcern
from sharing.scoping_term import current_agreement
from tests.sharing.delivery.world import delivery_world, one_each_world

pytestmark = pytest.mark.django_db

SUMMARY = "Synthetic: she said her partner has returned and she is frightened"


@pytest.fixture
def world():
    return one_each_world()


def concern(world, *, by=None, released=None, **overrides):
    values = dict(kind="safeguarding", summary=SUMMARY)
    values.update(overrides)
    return raise_concern(released or world.released[0], by=by or world.practitioners[0], **values)


VITAL = {"pause": {"article_6": "art6_1_d", "article_9": "art9_2_c", "power": ""}}


def test_her_practitioner_raises_one_with_its_lawful_bases_and_an_audit_entry(world):
    c = concern(world, kind="serious_incident", lawful_bases=VITAL)
    assert (c.kind, c.lawful_bases, c.status, c.raised_by) == ("serious_incident", VITAL, ConcernStatus.OPEN,
                                                               world.practitioners[0])
    assert b"frightened" not in bytes(c.summary)  # encrypted at rest
    entry = AuditEntry.objects.get(event=Event.CHANGE, actor=world.practitioners[0],
                                   reason__startswith=f"serious_incident #{c.pk} ")
    assert entry.reason == (f"serious_incident #{c.pk} raised with the Trust under Pause: To protect someone's life "
                            "(vital interests, UK GDPR Article 6(1)(d)); To protect her or someone else's life when she "
                            "cannot consent (vital interests, UK GDPR Article 9(2)(c))")

    assert list(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == [
        f"sharing.releasedwoman:{world.released[0].pk}"]


def test_by_default_it_rests_on_pauses_bases_in_the_agreement_in_force(world):
    agreement = current_agreement(world.programme)
    assert concern(world).lawful_bases == {"pause": agreement.lawful_bases["pause"]}


def test_the_pause_lead_raises_one_about_any_woman_in_view(world):
    c = concern(world, by=world.pause_lead, released=world.released[1])
    assert c.raised_by == world.pause_lead


@pytest.mark.parametrize("who", ["other practitioner", "trust lead", "caldicott"])
def test_nobody_else_raises_one(world, who):
    person = {"other practitioner": world.practitioners[1], "trust lead": world.trust_lead,
              "caldicott": world.caldicott}[who]
    with pytest.raises(PermissionDenied):
        concern(world, by=person)
    assert not SafeguardingConcern.objects.exists()


def test_not_about_a_woman_out_of_view(world):
    open_restriction(woman=world.released[0].woman, reason="restriction_request", by=world.trust_lead)
    with pytest.raises(PermissionDenied):
        concern(world)
    with pytest.raises(PermissionDenied):
        concern(world, by=world.pause_lead)
    Programme.objects.filter(pk=world.programme.pk).update(phase=Phase.CLOSED)
    with pytest.raises(PermissionDenied):
        concern(world, released=world.released[1], by=world.practitioners[1])
    assert not SafeguardingConcern.objects.exists()


@pytest.mark.parametrize("field,overrides,message", [
    ("pause_article_6", {"lawful_bases": {"pause": {"article_9": "art9_2_c"}}},
     "Choose Pause's Article 6 lawful basis from the list"),
    ("pause_article_9", {"lawful_bases": {"pause": {"article_6": "art6_1_d", "article_9": "sch1_p2_18"}}},
     "Choose Pause's Article 9 condition: the data include special category data (ethnic group, health and "
     "social care)"),
    ("pause_power", {"lawful_bases": {"pause": {"article_6": "art6_1_e", "article_9": "art9_2_g"}}},
     "Choose the law that sets out the task or obligation (UK GDPR Article 6(3)): a public task or a legal "
     "obligation needs one"),
    ("pause_power", {"lawful_bases": {"pause": {"article_6": "art6_1_f", "article_9": "art9_2_g",
                                                "power": "ca2004_s10"}}},
     "Leave the statutory power empty: only a public task or a legal obligation rests on one"),
    ("kind", {"kind": "complaint"}, "Choose whether this is a safeguarding concern or a serious incident"),
    ("summary", {"summary": "   "}, "Describe the concern: what happened and what you know"),
    ("summary", {"summary": "x" * 5001}, "The description must be 5000 characters or fewer"),
])
def test_bad_input_is_refused_and_nothing_is_written(world, field, overrides, message):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as e:
        concern(world, **overrides)
    assert e.value.message_dict[field] == [message]
    assert not SafeguardingConcern.objects.exists() and AuditEntry.objects.count() == before


def test_a_trust_lead_acknowledges_then_closes_with_a_note(world):
    c = concern(world)
    acknowledge_concern(c, by=world.trust_lead)
    c.refresh_from_db()
    assert c.status == ConcernStatus.ACKNOWLEDGED and c.acknowledged_by == world.trust_lead and c.acknowledged_at
    with pytest.raises(ValidationError, match="already been acknowledged"):
        acknowledge_concern(c, by=world.trust_lead)
    with pytest.raises(ValidationError) as e:
        close_concern(c, by=world.trust_lead, closing_note="  ")
    assert e.value.message_dict["closing_note"] == ["Enter a closing note: what was done and why it is closed"]
    close_concern(c, by=world.trust_lead, closing_note="Synthetic: a strategy meeting was held")
    c.refresh_from_db()
    assert c.status == ConcernStatus.CLOSED and c.closed_by == world.trust_lead and b"strategy" not in bytes(
        c.closing_note)
    with pytest.raises(ValidationError, match="already been closed"):
        close_concern(c, by=world.trust_lead, closing_note="Again")
    with pytest.raises(ValidationError, match="closed"):
        acknowledge_concern(c, by=world.trust_lead)
    reasons = list(AuditEntry.objects.filter(event=Event.CHANGE, actor=world.trust_lead, reason__startswith=f"safeguarding #{c.pk} ")
                   .order_by("pk").values_list("reason", flat=True))
    assert reasons == [f"safeguarding #{c.pk} acknowledged by the Trust", f"safeguarding #{c.pk} closed by the Trust"]


def test_closing_straight_from_open_is_allowed(world):
    c = concern(world)
    close_concern(c, by=world.trust_lead, closing_note="Synthetic: no further action")
    c.refresh_from_db()
    assert c.status == ConcernStatus.CLOSED and c.acknowledged_at is None


@pytest.mark.parametrize("who", ["pause lead", "practitioner", "caldicott", "other programme's lead"])
def test_only_a_trust_lead_of_the_programme_answers(world, who):
    c = concern(world)
    other = delivery_world(women=0)
    person = {"pause lead": world.pause_lead, "practitioner": world.practitioners[0], "caldicott": world.caldicott,
              "other programme's lead": other.trust_lead}[who]
    with pytest.raises(PermissionDenied):
        acknowledge_concern(c, by=person)
    with pytest.raises(PermissionDenied):
        close_concern(c, by=person, closing_note="Not theirs")
    c.refresh_from_db()
    assert c.status == ConcernStatus.OPEN


def test_the_policy_serves_concerns_to_the_trust_and_to_pause_only_in_view(world):
    a = concern(world)
    b = concern(world, by=world.practitioners[1], released=world.released[1])
    assert {c.pk for c in disclose(world.trust_lead, [a, b], page="/t")} == {a.pk, b.pk}
    assert {c.pk for c in disclose(world.pause_lead, [a, b], page="/t")} == {a.pk, b.pk}
    assert {c.pk for c in disclose(world.practitioners[0], [a, b], page="/t")} == {a.pk}
    assert list(disclose(world.caldicott, [a, b], page="/t")) == []
    other = delivery_world(women=0)
    assert list(disclose(other.trust_lead, [a, b], page="/t")) == []
    Programme.objects.filter(pk=world.programme.pk).update(phase=Phase.CLOSED)
    assert list(disclose(world.pause_lead, [a, b], page="/t")) == []
    assert {c.pk for c in disclose(world.trust_lead, [a, b], page="/t")} == {a.pk, b.pk}
