"""Objections: opening one restricts her at once (out of every Pause view, and of the scoping
release); upheld — proposed by the DPO and confirmed by the Caldicott Guardian (issue 17) —
processing stops and Pause's access ends for good; not upheld, the compelling grounds are recorded
and the restriction ends. All data is synthetic."""

from __future__ import annotations

import pytest

from audit.core.models_rights import ObjectionOutcome, RequestStatus, RightsRequest
from audit.oversight import objections, proposals, rights
from eligibility.models import Restriction, RestrictionReason
from eligibility.release import can_be_released
from eligibility.restrictions import RestrictionRefused, end_restriction
from sharing.models_delivery import CaseloadAssignment, CaseloadUserObjectPermission, ReleasedWoman
from tests.audit.oversight.test_rights import _seen_by_pause
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db


def test_an_objection_restricts_her_at_once_while_it_is_considered():
    w = rights_world(women=2)
    first, second = w.delivery.released
    rr = w.request("objection")
    assert rr.restriction.reason == RestrictionReason.OBJECTION and rr.restriction.ended_at is None
    assert _seen_by_pause(w) == {second.pk}
    assert not can_be_released(first.woman)


def test_upheld_processing_stops_and_pauses_access_ends_for_good():
    w = rights_world(women=2)
    first, second = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    rr = w.request("objection")
    with pytest.raises(rights.RightsRefused, match="Enter the answer"):
        proposals.propose_objection_upheld(rr, note="", by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="Caldicott Guardian"):  # never the DPO alone
        objections.decide_objection(rr, outcome="upheld", note="Upheld", by=w.dpo)
    w.uphold(rr, note="Upheld: we will not share her data with Pause")
    rr.refresh_from_db()
    assert rr.status == RequestStatus.COMPLETED and rr.objection_outcome == ObjectionOutcome.UPHELD
    assert rr.closed_by == w.caldicott and rights.reveal(rr, "outcome_note").startswith("Upheld: we will not")
    assert Restriction.objects.get(pk=rr.restriction_id).ended_at is None  # processing stays stopped
    released = ReleasedWoman.objects.get(pk=first.pk)
    assert released.withdrawn_at is not None and released.withdrawn_by == w.caldicott
    assert not CaseloadUserObjectPermission.objects.filter(content_object=first).exists()
    assert CaseloadAssignment.objects.get(released_woman=first).ended_at is not None
    assert _seen_by_pause(w) == {second.pk}
    with pytest.raises(RestrictionRefused, match="belongs to rights request"):  # not from the restrictions page
        end_restriction(rr.restriction, by=w.dpo)
    assert _seen_by_pause(w) == {second.pk}


def test_not_upheld_records_the_compelling_grounds_and_ends_the_restriction():
    w = rights_world(women=2)
    first, second = w.delivery.released
    rr = w.request("objection")
    with pytest.raises(rights.RightsRefused, match="compelling"):
        objections.decide_objection(rr, outcome="not_upheld", note=" ", by=w.dpo)
    objections.decide_objection(rr, outcome="not_upheld", by=w.dpo,
                                note="Safeguarding of her expected child outweighs her objection (synthetic)")
    rr = RightsRequest.objects.get(pk=rr.pk)
    assert rr.objection_outcome == ObjectionOutcome.NOT_UPHELD and rr.status == RequestStatus.COMPLETED
    assert rights.reveal(rr, "outcome_note").startswith("Safeguarding")
    assert b"Safeguarding" not in bytes(rr.outcome_note)
    assert rr.restriction.ended_at is not None
    assert _seen_by_pause(w) == {first.pk, second.pk}
    assert ReleasedWoman.objects.get(pk=first.pk).withdrawn_at is None


def test_an_outcome_is_recorded_once_by_the_dpo_only():
    w = rights_world(women=1)
    rr = w.request("objection")
    for person in (w.caseworker, w.delivery.trust_lead, w.delivery.pause_lead, w.caldicott):
        with pytest.raises(rights.RightsRefused):
            objections.decide_objection(rr, outcome="not_upheld", note="n", by=person)
        with pytest.raises(rights.RightsRefused):
            proposals.propose_objection_upheld(rr, note="n", by=person)
    with pytest.raises(rights.RightsRefused, match="Choose whether"):
        objections.decide_objection(rr, outcome="maybe", note="n", by=w.dpo)
    w.uphold(rr, note="n")
    with pytest.raises(rights.RightsRefused, match="closed"):
        objections.decide_objection(rr, outcome="not_upheld", note="n", by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="closed"):
        proposals.propose_objection_upheld(rr, note="n", by=w.dpo)
    access = w.request("access")
    with pytest.raises(rights.RightsRefused, match="not an objection"):
        objections.decide_objection(access, outcome="not_upheld", note="n", by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="not an objection"):
        proposals.propose_objection_upheld(access, note="n", by=w.dpo)



def test_an_objection_considered_holds_its_restriction_against_the_restrictions_page():
    w = rights_world(women=2)
    rr = w.request("objection")
    for person in (w.dpo, w.delivery.trust_lead):
        with pytest.raises(RestrictionRefused, match="belongs to rights request"):
            end_restriction(rr.restriction, by=person)
    assert Restriction.objects.get(pk=rr.restriction_id).ended_at is None
