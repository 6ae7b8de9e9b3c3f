"""Issue 17, findings 1 and 2: no one person erases, and the overseer is overseen.

Finding 1 — one DPO erased a woman in two requests (identity check "x", erased at once, two open
safeguarding concerns gone with her record, no second person, no Art. 17(3) check, the Trust not
told). Now: the DPO proposes, the Caldicott Guardian (never the proposer) confirms on a logged
page with no case record; erasure is refused while a concern about her is open and where an Art.
17(3) exemption applies (named); the Trust lead is told by an email with no identifier; the
record says what was kept and why, and that the Trust's case system is outside the portal.

Finding 2 — the DPO opened the gate alone with any identity text, and the Caldicott report showed
only audit searches. Now: the receipt (date, channel) and structured identity evidence (method,
type of document, who checked) are recorded and the gate opens only on them; the report lists
every request opened, record viewed, pack downloaded and erasure or objection decision; two
monitoring rules flag a request with no recorded receipt and requests opened fast.
All data is synthetic."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_review import FlagRule, MonitoringFlag
from audit.core.models_rights import (
    ErasureExemption,
    ErasureGround,
    ErasureRecord,
    ProposalStatus,
    RequestStatus,
    RightsProposal,
    RightsRequest,
)
from audit.oversight import access_pack, monitoring, proposals, rights
from eligibility.disclosure import disclose
from eligibility.models import Child, Woman
from pseudonymisation.fields import Protector
from sharing.concerns import acknowledge_concern, close_concern, raise_concern
from sharing.models_delivery import SafeguardingConcern
from tests.audit.oversight.test_rights_world import NO_EXEMPTION, rights_world
from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db


def _secrets(woman: Woman) -> list[str]:
    p = Protector.load(woman.programme_id, Woman.key_phase)
    values = [woman.reveal(p, f) for f in ("trust_person_id", "nhs_number", "forename", "surname")]
    born = woman.reveal(p, "date_of_birth")
    values += [born] if born else []
    for child in Child.objects.filter(mother=woman):
        cp = Protector.load(child.programme_id, Child.key_phase)
        values += [child.reveal(cp, "trust_person_id") or ""]
    return [v for v in values if v]


def _concern(w, released, summary="Synthetic concern"):
    w.delivery.assign(released, w.delivery.practitioners[0]) if not released.assignments.exists() else None
    return raise_concern(released, by=w.delivery.practitioners[0], kind="safeguarding", summary=summary)


# --- finding 1 ------------------------------------------------------------------------------------
def test_finding_1_one_dpo_can_no_longer_erase_her_alone_with_her_concerns(django_capture_on_commit_callbacks):
    w = rights_world(women=2)
    released = w.delivery.released[0]
    woman_id = released.woman_id
    first, second = _concern(w, released, "Synthetic concern one"), _concern(w, released, "Synthetic concern two")
    # The identity check "x" alone no longer opens a request.
    with pytest.raises(rights.RightsRefused, match="how the request was received"):
        rights.open_request(programme=w.programme, kind="erasure", woman=released.woman, received_on=timezone.localdate(),
                            received_via="", identity_method="", identity_document="", identity_checked_by=None,
                            identity_check="x", by=w.dpo)
    rr = w.request("erasure")
    # While her concerns are open, erasure is refused, and nothing is proposed.
    with pytest.raises(rights.RightsRefused, match="safeguarding concern about her is open"):
        proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    acknowledge_concern(first, by=w.delivery.trust_lead)  # acknowledged is still open
    close_concern(second, by=w.delivery.trust_lead, closing_note="In the Trust's case system (synthetic)")
    with pytest.raises(rights.RightsRefused, match="safeguarding concern about her is open"):
        proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    close_concern(first, by=w.delivery.trust_lead, closing_note="In the Trust's case system (synthetic)")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo,
                                             portal_url="http://testserver" + reverse("rights:confirmations"))
    # Proposed, not erased: the DPO alone cannot finish it.
    assert Woman.objects.filter(pk=woman_id).exists() and not ErasureRecord.objects.exists()
    with pytest.raises(rights.RightsRefused, match="Caldicott Guardian"):
        proposals.confirm(proposal, by=w.dpo, justification="Synthetic justification")
    # The Trust lead (and the Caldicott Guardian) told, by an email with no identifier.
    told = {m.to[0] for m in mail.outbox}
    assert {w.delivery.trust_lead.email, w.caldicott.email} <= told
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}"
        assert "erasure" in text.lower() and w.programme.name in text
        forbidden = [*_secrets(released.woman), rr.reference, "art17", "17(1)", proposal.get_ground_display()]
        assert not [s for s in forbidden if s.lower() in text.lower()]
    lead_mail = next(m for m in mail.outbox if m.to[0] == w.delivery.trust_lead.email)
    assert re.findall(r"https?://\S+", lead_mail.body) == [] and "outside the portal" in lead_mail.body
    # The second person confirms; both are on the record, with what was kept and why.
    record = proposals.confirm(proposal, by=w.caldicott, justification="Synthetic justification")
    assert not Woman.objects.filter(pk=woman_id).exists()
    assert record.erased_by == w.dpo and record.confirmed_by == w.caldicott and record.proposal == proposal
    assert "sharing.SafeguardingConcern" not in record.erased  # erasure never removes a concern (issue 22)
    kept = {k["what"]: k for k in record.kept}
    assert kept["Safeguarding concerns and serious incidents about her, with her Trust person ID"]["count"] == 2
    assert set(SafeguardingConcern.objects.filter(pk__in=[first.pk, second.pk])
               .values_list("released_woman_id", flat=True)) == {None}
    assert "outside the portal" in kept["The Trust's own case system"]["why"]
    entry = AuditEntry.objects.get(object_repr=f"audit.erasurerecord:{record.pk}")
    assert entry.actor_id == w.caldicott.pk and f"#{w.dpo.pk}" in entry.reason and "outside the portal" in entry.reason


@pytest.mark.parametrize("exemption", list(ErasureExemption))
def test_an_art_17_3_exemption_refuses_the_erasure_and_the_refusal_names_it(exemption):
    w = rights_world(women=1)
    rr = w.request("erasure")
    with pytest.raises(rights.RightsRefused) as refused:
        proposals.propose_erasure(rr, ground="art17_1_a", exemptions={**NO_EXEMPTION, exemption.value: True},
                                  by=w.dpo)
    assert exemption.label in refused.value.message
    assert not RightsProposal.objects.exists()
    with pytest.raises(rights.RightsRefused, match=r"Art\. 17\(3\)\(c\)"):  # every exemption must be answered
        proposals.propose_erasure(rr, ground="art17_1_a",
                                  exemptions={k: v for k, v in NO_EXEMPTION.items() if k != "art17_3_c"}, by=w.dpo)


def test_the_grounds_are_those_of_17_1_that_can_apply_here():
    assert "art17_1_b" not in ErasureGround.values  # nothing here rests on consent
    assert set(ErasureGround.values) == {"art17_1_a", "art17_1_c", "art17_1_d", "art17_1_e"}


def test_a_concern_raised_after_the_proposal_stops_the_confirmation():
    w = rights_world(women=1)
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    _concern(w, w.delivery.released[0])
    with pytest.raises(rights.RightsRefused, match="safeguarding concern"):
        proposals.confirm(proposal, by=w.caldicott, justification="Synthetic justification")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and Woman.objects.filter(pk=rr.woman_id).exists()


def test_the_database_refuses_a_proposer_deciding_her_own_proposal():
    w = rights_world(women=1)
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    with pytest.raises(IntegrityError), transaction.atomic():
        RightsProposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.CONFIRMED, decided_by=w.dpo,
                                                             decided_at=timezone.now())


def test_declined_or_withdrawn_the_request_stays_open_and_the_dpo_may_propose_again():
    w = rights_world(women=1)
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="already awaits"):
        proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="withdraw it first"):
        rights.close(rr, status="refused", note="n", by=w.dpo)
    with pytest.raises(rights.RightsRefused, match="Enter your justification for rejecting the DPO's proposal"):
        proposals.decline(proposal, justification=" ", by=w.caldicott)
    for person in (w.dpo, w.delivery.trust_lead, w.caseworker):
        with pytest.raises(rights.RightsRefused):
            proposals.decline(proposal, justification="no", by=person)
    proposals.decline(proposal, justification="The legal claims exemption needs a second look", by=w.caldicott)
    assert RightsRequest.objects.get(pk=rr.pk).status == RequestStatus.OPEN
    with pytest.raises(rights.RightsRefused, match="declined"):
        proposals.confirm(proposal, by=w.caldicott, justification="Synthetic justification")
    again = proposals.propose_erasure(rr, ground="art17_1_d", exemptions=NO_EXEMPTION, by=w.dpo)
    proposals.withdraw(again, reason="She withdrew her request", by=w.dpo)
    assert RightsRequest.objects.get(pk=rr.pk).status == RequestStatus.OPEN and Woman.objects.filter(
        pk=rr.woman_id).exists()
    rights.close(rr, status="refused", note="She withdrew it", by=w.dpo)


def test_the_confirmation_page_shows_what_she_needs_no_case_record_and_is_logged():
    w = rights_world(women=1)
    released = w.delivery.released[0]
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_c", exemptions=NO_EXEMPTION, by=w.dpo)
    guardian = sign_in_verified(Client(), w.caldicott)
    listing = guardian.get(reverse("rights:confirmations")).content.decode()
    assert rr.reference in listing and reverse("rights:confirmation", args=[proposal.pk]) in listing
    url = reverse("rights:confirmation", args=[proposal.pk])
    response = guardian.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert rr.reference in body and ErasureGround.OBJECTION_UPHELD.label in body
    for exemption in ErasureExemption:
        assert exemption.label in body
    assert "What would be erased" in body
    counts = proposals.proposal_summary(proposal)["erased"]
    assert ("Her Trust record (eligibility.Woman)", 1) in counts
    assert ("Her children's records (eligibility.Child)", Child.objects.filter(mother=released.woman).count()) in counts
    for name, n in counts:
        assert f"{escape(name)}</td><td class=\"govuk-table__cell govuk-table__cell--numeric\">{n}<" in body
    assert "What would be kept, and why" in body and "outside the portal" in body
    assert not [s for s in _secrets(released.woman) if s in body]
    logged = AuditEntry.objects.filter(actor=w.caldicott, page=url, object_repr=f"audit.rightsproposal:{proposal.pk}")
    assert logged.exists() and rr.reference in logged.get().reason
    # she never gets her records through the disclosure policy either
    assert not disclose(w.caldicott, [released.woman], page=url, reason=rr.reference).records
    # the proposer is offered no decision on it
    dpo = sign_in_verified(Client(), w.dpo)
    assert dpo.get(url).status_code == 404 and dpo.post(url, {"proposal": proposal.pk, "decision": "confirm",
                                                              "reason": "Synthetic justification"}).status_code == 404
    response = guardian.post(url, {"proposal": proposal.pk, "decision": "reject", "reason": ""})
    assert response.status_code == 400 and b"Enter your justification for confirming or rejecting" in response.content
    assert RightsProposal.objects.get(pk=proposal.pk).status == ProposalStatus.PENDING


def test_an_upheld_objection_needs_the_caldicott_guardian():
    w = rights_world(women=1)
    rr = w.request("objection")
    client = sign_in_verified(Client(), w.dpo)
    url = reverse("rights:request", args=[rr.pk])
    response = client.post(url, {"action": "objection", "outcome": "upheld", "note": "Upheld (synthetic)"})
    assert response.status_code == 302
    rr.refresh_from_db()
    assert rr.is_open and not rr.objection_outcome
    proposal = RightsProposal.objects.get(request=rr, kind="objection_upheld")
    body = sign_in_verified(Client(), w.caldicott).get(reverse("rights:confirmation", args=[proposal.pk])).content
    assert rr.reference.encode() in body and b"Objection upheld" in body
    proposals.confirm(proposal, by=w.caldicott, justification="Synthetic justification")
    rr.refresh_from_db()
    assert rr.status == RequestStatus.COMPLETED and rr.objection_outcome == "upheld"


# --- finding 2 ------------------------------------------------------------------------------------
def test_finding_2_free_text_alone_does_not_open_the_gate():
    w = rights_world(women=1)
    woman = w.delivery.released[0].woman
    # A request as the DPO could open one before: free text "x" for the identity check, no receipt.
    rr = RightsRequest(programme=w.programme, reference="DPO-2026-900", kind="access", woman=woman,
                       person_id_index=woman.person_id_index, received_on=timezone.localdate(),
                       due_on=timezone.localdate() + timedelta(days=30), owner=w.dpo, opened_by=w.dpo)
    rr.protect(rights.protector_for(rr), identity_check="x")
    rr.save()
    assert not disclose(w.dpo, [woman], page="/rights/", reason=rr.reference).records
    page = sign_in_verified(Client(), w.dpo).get(reverse("rights:request", args=[rr.pk])).content.decode()
    assert not [s for s in _secrets(woman) if s in page] and "Not recorded" in page
    with pytest.raises(rights.RightsRefused):
        access_pack.build(rr, by=w.dpo, page="/rights/")
    for bad in ({"identity_method": "copies", "identity_document": "none"}, {"identity_checked_by": w.delivery.pause_lead}):
        with pytest.raises(rights.RightsRefused):
            rights.record_identity(rr, **{"identity_method": "in_person", "identity_document": "passport",
                                          "identity_checked_by": w.caseworker, **bad}, by=w.dpo)
    assert not disclose(w.dpo, [woman], page="/rights/", reason=rr.reference).records
    rights.record_identity(rr, identity_method="in_person", identity_document="passport",
                           identity_checked_by=w.caseworker, by=w.dpo)
    assert disclose(w.dpo, [woman], page="/rights/", reason=rr.reference).records == [woman]


def test_the_caldicott_report_lists_every_request_view_pack_and_decision():
    w = rights_world(women=3)
    access = w.request("access", 0)
    client = sign_in_verified(Client(), w.dpo)
    client.get(reverse("rights:request", args=[access.pk]))  # a view of her records under the request
    pack = access_pack.build(access, by=w.dpo, page="/pack/")
    for item in pack.pending:
        access_pack.decide_item(access, item=item.ref, basis="reasonable", by=w.dpo)
    access_pack.download(access, by=w.dpo, page=reverse("rights:pack-download", args=[access.pk]))
    erasure_rr = w.request("erasure", 1)
    w.erase(erasure_rr)
    objection = w.request("objection", 2)
    proposal = proposals.propose_objection_upheld(objection, note="Upheld", by=w.dpo)
    proposals.decline(proposal, justification="Needs the Trust's view first", by=w.caldicott)
    body = sign_in_verified(Client(), w.caldicott).get(reverse("dpo:activity")).content.decode()
    table = body[body.index('id="rights-activity"'):body.index("</table>", body.index('id="rights-activity"'))]
    for reference in (access.reference, erasure_rr.reference, objection.reference):
        assert reference in table
    for what in ("Rights request opened", "Records viewed under a request", "Access pack downloaded",
                 "Erasure proposed", "Erasure confirmed", "Upheld objection proposed", "Upheld objection declined"):
        assert what in table, what
    assert "by letter" in table and "passport" in table and w.dpo.full_name in table
    for released in w.delivery.released[::2]:
        assert not [s for s in _secrets(released.woman) if s in body]


def _opening(rr, actor):
    """The entry a request's opening writes (here for a request written around the action)."""
    return record_event(Event.CHANGE, actor=actor, target=rr, programme=rr.programme, role="dpo", action=0,
                        reason=f"rights request {rr.reference} opened")


def test_monitoring_flags_a_request_opened_with_no_recorded_receipt():
    w = rights_world(women=1)
    monitoring.run_monitoring()
    woman = w.delivery.released[0].woman
    rr = RightsRequest.objects.create(programme=w.programme, reference="DPO-2026-901", kind="access", woman=woman,
                                      person_id_index=woman.person_id_index, received_on=timezone.localdate(),
                                      due_on=timezone.localdate() + timedelta(days=30), owner=w.dpo, opened_by=w.dpo)
    _opening(rr, w.dpo)
    w.request("access")  # opened through the action: its receipt is recorded
    monitoring.run_monitoring()
    flags = MonitoringFlag.objects.filter(rule=FlagRule.NO_RECEIPT)
    assert flags.count() == 1 and f"#{rr.pk}" in flags.get().detail and flags.get().actor_id == w.dpo.pk
    # the Caldicott Guardian sees it in her report of the DPO (the DPO does not close a flag about themselves)
    body = sign_in_verified(Client(), w.caldicott).get(reverse("dpo:activity")).content.decode()
    assert 'id="rights-flags"' in body and flags.get().detail in body


def test_monitoring_flags_a_dpo_opening_requests_faster_than_the_threshold(settings):
    settings.PORTAL_MONITORING = {**settings.PORTAL_MONITORING, "rights_requests": 3, "rights_request_hours": 24}
    w = rights_world(women=4)
    monitoring.run_monitoring()
    for i in range(3):
        w.request("access", i)
    monitoring.run_monitoring()
    assert not MonitoringFlag.objects.filter(rule=FlagRule.RAPID_REQUESTS).exists()  # 3 is not more than 3
    w.request("access", 3)
    monitoring.run_monitoring()
    flag = MonitoringFlag.objects.get(rule=FlagRule.RAPID_REQUESTS)
    assert flag.actor_id == w.dpo.pk and "4 rights requests opened within 24 hours" in flag.detail


def test_the_threshold_is_a_setting_with_a_default():
    from django.conf import settings

    assert settings.PORTAL_MONITORING["rights_requests"] == 5
    assert settings.PORTAL_MONITORING["rights_request_hours"] == 24
    assert monitoring.Thresholds().rights_requests == 5


def test_the_erasure_walk_itself_stops_at_any_concern_still_linked_to_her():
    from audit.oversight import erasure

    w = rights_world(women=1)
    released = w.delivery.released[0]
    concern = _concern(w, released)
    with pytest.raises(rights.RightsRefused, match="still linked to her records"), transaction.atomic():
        erasure._delete_tree(Woman, [released.woman_id], __import__("collections").Counter())
    assert Woman.objects.filter(pk=released.woman_id).exists()
    assert SafeguardingConcern.objects.filter(pk=concern.pk).exists()
