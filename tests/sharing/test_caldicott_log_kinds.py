"""The Caldicott log's other four kinds (issue 23, point 3; ADR 45): phase changes, privacy
notices, role grants and the DPO's rights decisions. For each: refused without a justification,
with nothing changed; exactly one entry per decision, of the right kind and in words; a decision
refused for another reason, or failing after its entry was written, leaves no entry. The rights
decision's entry names the request by its reference, never the woman. All data is invented."""

from __future__ import annotations

import inspect
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry
from audit.core.models_rights import ProposalStatus, RightsProposal
from audit.oversight import proposals
from audit.oversight.rights import RightsRefused
from eligibility.models import Woman
from pause_portal.tenancy.models import Membership, MembershipStatus, Phase, Programme
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing import actions, phases, privacy_notices
from sharing.models_caldicott import CaldicottDecision
from sharing.models_notices import PrivacyNotice
from sharing.models_scoping import ChangeStatus, PhaseChange
from sharing.phases import confirm_phase_change, propose_phase_change, reject_phase_change
from sharing.privacy_notices import confirm_notice, publish_notice, reject_notice
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.notices import TRUST_TEXT

pytestmark = pytest.mark.django_db

BLANKS = ["", "  \n "]


def test_every_action_takes_a_required_keyword_only_justification():
    for action in (confirm_phase_change, reject_phase_change, confirm_notice, reject_notice, actions.confirm_role,
                   proposals.confirm, proposals.decline):
        parameter = inspect.signature(action).parameters["justification"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is inspect.Parameter.empty
        assert "reason" not in inspect.signature(action).parameters


def _only_entry(kind: str, **expected) -> CaldicottDecision:
    """The one entry of `kind` (a world set up through the actions holds entries of other kinds)."""
    entry = CaldicottDecision.objects.get(kind=kind)
    assert {k: getattr(entry, k) for k in expected} == expected
    return entry


# --- phase changes -----------------------------------------------------------------------------------
def _proposed_move(programme, trust_lead) -> PhaseChange:
    return propose_phase_change(programme=programme, by=trust_lead, reason="Scoping showed the need",
                                no_final_report_kept=True)


PHASE_ACTIONS = {"confirm": confirm_phase_change, "reject": reject_phase_change}


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("blank", BLANKS)
def test_a_phase_change_without_a_justification_is_refused_and_changes_nothing(decision, blank, programme,
                                                                                trust_lead, caldicott):
    change = _proposed_move(programme, trust_lead)
    entries = AuditEntry.objects.count()
    verb = "confirming" if decision == "confirm" else "rejecting"
    with pytest.raises(ValidationError, match=f"Enter your justification for {verb} the phase change"):
        PHASE_ACTIONS[decision](change=change, by=caldicott, justification=blank)
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    assert Programme.objects.get(pk=programme.pk).phase == Phase.SCOPING
    assert not CaldicottDecision.objects.exists() and AuditEntry.objects.count() == entries


@pytest.mark.parametrize("decision,status,word", [("confirm", ChangeStatus.CONFIRMED, "Confirmed"),
                                                  ("reject", ChangeStatus.REJECTED, "Rejected")])
def test_a_phase_change_decision_writes_one_entry(decision, status, word, programme, trust_lead, caldicott):
    change = _proposed_move(programme, trust_lead)
    PHASE_ACTIONS[decision](change=change, by=caldicott, justification="  The scoping findings support it  ")
    assert PhaseChange.objects.get(pk=change.pk).status == status
    entry = _only_entry(programme=programme, kind="phase_change", subject_pk=change.pk, decided_by=caldicott,
                        justification="The scoping findings support it",
                        subject="The move from scoping to delivery")
    assert entry.get_decision_display() == word and entry.get_kind_display() == "Phase change"


def test_a_second_trust_lead_confirming_is_logged_as_them(programme, trust_lead):
    """The log holds every confirmation of a phase change, whoever of the two kinds of decider made it."""
    second = f.person(programme.trust)
    f.membership(second, programme, Role.TRUST_LEAD)
    change = _proposed_move(programme, trust_lead)
    confirm_phase_change(change=change, by=second, justification="Agreed at the board")
    _only_entry(kind="phase_change", decided_by=second, decision="confirm")


def test_a_phase_change_refused_for_another_reason_leaves_no_entry(programme, trust_lead, dpo, caldicott,
                                                                  monkeypatch):
    change = _proposed_move(programme, trust_lead)
    for person in (trust_lead, dpo):  # the proposer, and the DPO
        with pytest.raises(PermissionDenied):
            confirm_phase_change(change=change, by=person, justification="Fine")
        with pytest.raises(PermissionDenied):
            reject_phase_change(change=change, by=person, justification="No")
    assert not CaldicottDecision.objects.exists()

    def fails(*args, **kwargs):
        raise RuntimeError("the scoping purge failed")

    monkeypatch.setattr(phases, "end_scoping", fails)
    with pytest.raises(RuntimeError):
        confirm_phase_change(change=change, by=caldicott, justification="Fine")
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    assert not CaldicottDecision.objects.exists()


def test_the_phase_page_asks_for_the_justification(programme, trust_lead, caldicott):
    change = _proposed_move(programme, trust_lead)
    client = sign_in_verified(Client(), caldicott)
    body = client.get(reverse("governance:phase")).content.decode()
    assert "Your justification" in body and "do not name or describe any woman or child" in body
    refused = client.post(reverse("governance:phase-decide"), {"proposal": change.pk, "decision": "reject"})
    assert refused.status_code == 400 and "Enter your justification for confirming or rejecting" in refused.content.decode()
    assert not CaldicottDecision.objects.exists()
    assert client.post(reverse("governance:phase-decide"), {"proposal": change.pk, "decision": "reject",
                                                            "reason": "Not yet"}).status_code == 302
    _only_entry(kind="phase_change", decision="reject", justification="Not yet")


# --- privacy notices -------------------------------------------------------------------------------
NOTICE_ACTIONS = {"confirm": confirm_notice, "reject": reject_notice}


@pytest.mark.parametrize("decision", ["confirm", "reject"])
@pytest.mark.parametrize("blank", BLANKS)
def test_a_notice_decision_without_a_justification_is_refused_and_changes_nothing(decision, blank, programme,
                                                                                   trust_lead, caldicott):
    notice = publish_notice(programme=programme, by=trust_lead, text=TRUST_TEXT)
    entries = AuditEntry.objects.count()
    verb = "confirming" if decision == "confirm" else "rejecting"
    with pytest.raises(ValidationError, match=f"Enter your justification for {verb} the Trust's privacy notice, "
                                              "version 1"):
        NOTICE_ACTIONS[decision](notice=notice, by=caldicott, justification=blank)
    assert PrivacyNotice.objects.get(pk=notice.pk).status == ChangeStatus.PROPOSED
    assert privacy_notices.notice_in_force(programme, "trust") is None
    assert not CaldicottDecision.objects.exists() and AuditEntry.objects.count() == entries


@pytest.mark.parametrize("decision,status", [("confirm", ChangeStatus.CONFIRMED), ("reject", ChangeStatus.REJECTED)])
def test_a_notice_decision_writes_one_entry(decision, status, programme, trust_lead, caldicott):
    notice = publish_notice(programme=programme, by=trust_lead, text=TRUST_TEXT)
    NOTICE_ACTIONS[decision](notice=notice, by=caldicott, justification="Says what the agreement says")
    stored = PrivacyNotice.objects.get(pk=notice.pk)
    assert stored.status == status and stored.decision_reason == "Says what the agreement says"
    entry = _only_entry(programme=programme, kind="privacy_notice", subject_pk=notice.pk, decided_by=caldicott,
                        subject="The Trust's privacy notice, version 1", decision=decision,
                        justification="Says what the agreement says")
    assert entry.get_kind_display() == "Privacy notice version"


def test_a_pause_notice_confirmed_by_another_pause_lead_is_logged_as_them(programme, pause_lead):
    second = f.person(programme.pause_practice)
    f.membership(second, programme, Role.PAUSE_LEAD)
    notice = publish_notice(programme=programme, by=pause_lead, text="Pause's synthetic notice")
    confirm_notice(notice=notice, by=second, justification="Matches the Trust's")
    _only_entry(kind="privacy_notice", decided_by=second, subject="Pause's privacy notice (Art. 14), version 1")


def test_a_notice_decision_refused_for_another_reason_leaves_no_entry(programme, trust_lead, caldicott, dpo):
    notice = publish_notice(programme=programme, by=trust_lead, text=TRUST_TEXT)
    for person in (trust_lead, dpo):
        with pytest.raises(PermissionDenied):
            confirm_notice(notice=notice, by=person, justification="Fine")
    confirm_notice(notice=notice, by=caldicott, justification="Fine")
    with pytest.raises(ValidationError, match="not waiting for a decision"):
        reject_notice(notice=notice, by=caldicott, justification="Changed my mind")
    assert CaldicottDecision.objects.count() == 1


def test_the_notices_page_asks_for_the_justification(programme, trust_lead, caldicott):
    notice = publish_notice(programme=programme, by=trust_lead, text=TRUST_TEXT)
    client = sign_in_verified(Client(), caldicott)
    body = client.get(reverse("governance:notices")).content.decode()
    assert "Your justification" in body and "do not name or describe any woman or child" in body
    refused = client.post(reverse("governance:notice-decide"), {"proposal": notice.pk, "decision": "confirm"})
    assert refused.status_code == 400 and not CaldicottDecision.objects.exists()
    assert client.post(reverse("governance:notice-decide"), {"proposal": notice.pk, "decision": "confirm",
                                                             "reason": "Plain and accurate"}).status_code == 302
    _only_entry(kind="privacy_notice", decision="confirm", justification="Plain and accurate")


# --- role grants ---------------------------------------------------------------------------------------
def _pending(programme, system_admin, role=Role.DPO) -> Membership:
    return actions.request_role(person=f.person(programme.trust), programme=programme, role=role, by=system_admin)


@pytest.mark.parametrize("blank", BLANKS)
def test_a_grant_confirmed_without_a_justification_is_refused_and_changes_nothing(blank, programme, system_admin,
                                                                                  caldicott):
    grant = _pending(programme, system_admin)
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError, match="Enter your justification for confirming the grant of the Data "
                                              f"protection officer role to person #{grant.person_id}"):
        actions.confirm_role(membership=grant, by=caldicott, justification=blank)
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING
    assert not CaldicottDecision.objects.exists() and AuditEntry.objects.count() == entries


@pytest.mark.parametrize("confirmer", ["caldicott", "second_admin"])
def test_a_grant_confirmation_writes_one_entry_whoever_confirms(confirmer, programme, system_admin, caldicott):
    """A system administrator may confirm a grant too: their confirmation is logged in the same way."""
    person = caldicott if confirmer == "caldicott" else f.person(programme.trust, system_admin=True)
    grant = _pending(programme, system_admin, Role.TRUST_LEAD)
    actions.confirm_role(membership=grant, by=person, justification="Appointed by the Trust board")
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.ACTIVE
    entry = _only_entry(programme=programme, kind="role_grant", subject_pk=grant.pk, decided_by=person,
                        decision="confirm", justification="Appointed by the Trust board",
                        subject=f"Grant of the Trust lead role to person #{grant.person_id}")
    assert grant.person.full_name not in entry.subject


def test_a_grant_refused_for_another_reason_leaves_no_entry(programme, system_admin, caldicott, dpo, monkeypatch):
    grant = _pending(programme, system_admin)
    for person in (system_admin, dpo, grant.person):  # who asked, the DPO, the one receiving it
        with pytest.raises(PermissionDenied):
            actions.confirm_role(membership=grant, by=person, justification="Fine")
    assert not CaldicottDecision.objects.exists()

    def fails(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "record_event", fails)
    with pytest.raises(RuntimeError):
        actions.confirm_role(membership=grant, by=caldicott, justification="Fine")
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING
    assert not CaldicottDecision.objects.exists()


def test_the_grant_confirmation_page_refuses_a_grant_that_is_not_theirs(programme, other_programme, system_admin):
    grant = _pending(programme, system_admin)
    outsider = f.person(other_programme.trust)
    f.membership(outsider, other_programme, Role.CALDICOTT_GUARDIAN)
    client = sign_in_verified(Client(), outsider)
    url = reverse("people:confirm-grant", args=[grant.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"justification": "Fine"}).status_code == 404
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING
    assert not CaldicottDecision.objects.exists()


# --- the DPO's rights decisions ------------------------------------------------------------------------
def _rights_entries():
    return CaldicottDecision.objects.filter(kind="rights_decision")


@pytest.fixture
def world():
    from tests.audit.oversight.test_rights_world import rights_world

    return rights_world(women=1)


def _erasure_proposal(world) -> RightsProposal:
    from tests.audit.oversight.test_rights_world import NO_EXEMPTION

    return proposals.propose_erasure(world.request("erasure"), ground="art17_1_a", exemptions=NO_EXEMPTION,
                                     by=world.dpo)


def _names_any(details: list[str], text: str) -> list[str]:
    return [d for d in details if re.search(rf"\b{re.escape(d)}\b", text, re.IGNORECASE)]


def _her_details(woman: Woman) -> list[str]:
    p = Protector.load(woman.programme_id, Woman.key_phase)
    return [v for v in (woman.reveal(p, k) for k in ("trust_person_id", "nhs_number", "forename", "surname")) if v]


@pytest.mark.parametrize("decision", ["confirm", "decline"])
@pytest.mark.parametrize("blank", BLANKS)
def test_a_rights_decision_without_a_justification_is_refused_and_changes_nothing(decision, blank, world):
    proposal = _erasure_proposal(world)
    entries = AuditEntry.objects.count()
    verb = "confirming" if decision == "confirm" else "rejecting"
    with pytest.raises(RightsRefused, match=f"Enter your justification for {verb} the DPO's proposal"):
        getattr(proposals, decision)(proposal, by=world.caldicott, justification=blank)
    assert RightsProposal.objects.get(pk=proposal.pk).status == ProposalStatus.PENDING
    assert Woman.objects.filter(pk=proposal.request.woman_id).exists()
    assert not _rights_entries().exists() and AuditEntry.objects.count() == entries


def test_a_confirmed_erasure_writes_one_entry_naming_the_request_not_her(world):
    proposal = _erasure_proposal(world)
    details = _her_details(world.delivery.released[0].woman)
    proposals.confirm(proposal, by=world.caldicott, justification="No exemption applies; the ground is made out")
    entry = _only_entry(programme=world.programme, kind="rights_decision", subject_pk=proposal.pk,
                        decided_by=world.caldicott, decision="confirm",
                        justification="No exemption applies; the ground is made out",
                        subject=f"Erasure proposed on rights request {proposal.request.reference}")
    assert entry.get_kind_display() == "The DPO's rights decision"
    assert details and not _names_any(details, entry.subject)


def test_a_declined_objection_writes_one_entry(world):
    request = world.request("objection")
    proposal = proposals.propose_objection_upheld(request, note="Upheld (synthetic)", by=world.dpo)
    proposals.decline(proposal, justification="The Trust's view is needed first", by=world.caldicott)
    assert RightsProposal.objects.get(pk=proposal.pk).decision_note == "The Trust's view is needed first"
    _only_entry(kind="rights_decision", subject_pk=proposal.pk, decision="reject",
                subject=f"Upheld objection proposed on rights request {request.reference}",
                justification="The Trust's view is needed first")


def test_a_rights_decision_that_fails_leaves_no_entry(world):
    """Refused for who decides, or refused by the erasure itself after the entry was written (a
    concern raised since the proposal): no entry either way."""
    from tests.audit.oversight.test_rights_oversight import _concern

    proposal = _erasure_proposal(world)
    for person in (world.dpo, world.delivery.trust_lead):
        with pytest.raises(RightsRefused):
            proposals.confirm(proposal, by=person, justification="Fine")
        with pytest.raises(RightsRefused):
            proposals.decline(proposal, justification="No", by=person)
    assert not _rights_entries().exists()
    _concern(world, world.delivery.released[0])
    with pytest.raises(RightsRefused, match="safeguarding concern"):
        proposals.confirm(proposal, by=world.caldicott, justification="Fine")
    assert RightsProposal.objects.get(pk=proposal.pk).status == ProposalStatus.PENDING
    assert not _rights_entries().exists()


def test_the_confirmation_page_asks_for_the_justification_and_the_log_shows_no_name(world):
    proposal = _erasure_proposal(world)
    details = _her_details(world.delivery.released[0].woman)
    guardian = sign_in_verified(Client(), world.caldicott)
    url = reverse("rights:confirmation", args=[proposal.pk])
    body = guardian.get(url).content.decode()
    assert "Your justification" in body and "do not name or describe any woman or child" in body
    assert guardian.post(url, {"proposal": proposal.pk, "decision": "reject"}).status_code == 400
    assert not _rights_entries().exists()
    assert guardian.post(url, {"proposal": proposal.pk, "decision": "reject",
                               "reason": "Needs a second look"}).status_code == 302
    for reader in (world.caldicott, world.dpo):
        client = sign_in_verified(Client(), reader)
        page = client.get(reverse("governance:caldicott-log")).content.decode()
        export = client.get(reverse("governance:caldicott-log-export")).content.decode("utf-8-sig")
        for text, kind in ((page, "The DPO&#x27;s rights decision"), (export, "The DPO's rights decision")):
            assert f"Erasure proposed on rights request {proposal.request.reference}" in text
            assert "Needs a second look" in text and kind in text
            assert not _names_any(details, text)


# --- the log shows all six kinds -------------------------------------------------------------------------
def test_the_filter_offers_every_kind(programme, caldicott):
    body = sign_in_verified(Client(), caldicott).get(reverse("governance:caldicott-log")).content.decode()
    for label in ("Data-sharing agreement version", "Statutory power", "Phase change", "Privacy notice version",
                  "Role grant", "The DPO&#x27;s rights decision"):
        assert label in body
