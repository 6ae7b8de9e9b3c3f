"""The governance pages: who reaches each (everyone else: 404; anonymous: the sign-in page),
another programme's proposal answers 404, the flows through the forms, and the countdown on the
dashboards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import Role
from sharing.agreements import confirm_agreement, propose_agreement
from sharing.models_scoping import Agreement, ChangeStatus, PhaseChange
from sharing.phases import propose_phase_change
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.root.test_urlconf_metatest import ROLE_OF
from tests.sharing.notices import trust_notice
from tests.sharing.test_governance_agreements import valid_values

pytestmark = pytest.mark.django_db

READERS = {Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD}
ALLOWED = {
    "governance:agreement": READERS,
    "governance:agreement-propose": {Role.TRUST_LEAD},
    "governance:agreement-decide": {Role.CALDICOTT_GUARDIAN},
    "governance:agreement-withdraw": {Role.TRUST_LEAD},
    "governance:phase": READERS,
    "governance:phase-propose": {Role.TRUST_LEAD},
    "governance:phase-decide": {Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN},
    "governance:phase-withdraw": {Role.TRUST_LEAD},
    "governance:notices": READERS,
    "governance:notice-publish": {Role.TRUST_LEAD, Role.PAUSE_LEAD},
    "governance:notice-decide": {Role.CALDICOTT_GUARDIAN, Role.PAUSE_LEAD},
    "governance:notice-withdraw": {Role.TRUST_LEAD, Role.PAUSE_LEAD},
    "governance:powers": READERS,
    "governance:power-propose": {Role.TRUST_LEAD},
    "governance:power-decide": {Role.CALDICOTT_GUARDIAN},
    "governance:caldicott-log": {Role.CALDICOTT_GUARDIAN, Role.DPO},
    "governance:caldicott-log-export": {Role.CALDICOTT_GUARDIAN, Role.DPO},
    "governance:dpia": {Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO},
    "governance:dpia-risk-add": {Role.TRUST_LEAD, Role.DPO},
    "governance:dpia-risk-edit": {Role.TRUST_LEAD, Role.DPO},
    "governance:dpia-review": {Role.TRUST_LEAD, Role.DPO},
}


def test_every_governance_url_is_in_this_table():
    from tests.root.test_urlconf_metatest import portal_urls

    assert {name for name, *_ in portal_urls() if name.startswith("governance:")} == set(ALLOWED)


@pytest.mark.parametrize("name", sorted(ALLOWED))
@pytest.mark.parametrize("method", ["get", "post"])
def test_each_page_refuses_every_other_role_and_anonymous_people(name, method, actors):
    url = reverse(name)
    response = getattr(Client(), method)(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign-in"))
    for actor, role in ROLE_OF.items():
        response = getattr(sign_in_verified(Client(), actors[actor]), method)(url)
        if role in ALLOWED[name] and actor != "other_programme_person" and method == "get":
            assert response.status_code in (200, 302, 405), (name, actor)  # a POST names a proposal: below
        elif role not in ALLOWED[name]:
            assert response.status_code == 404, (name, actor, response.status_code)


def test_another_programmes_proposals_answer_404_and_stay_as_they_are(programme, trust_lead, other_programme):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)
    agreement = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    outsiders = {}
    for role in (Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN):
        outsiders[role] = f.person(other_programme.trust)
        f.membership(outsiders[role], other_programme, role)
    lead = sign_in_verified(Client(), outsiders[Role.TRUST_LEAD])
    guardian = sign_in_verified(Client(), outsiders[Role.CALDICOTT_GUARDIAN])
    for client, name, pk in ((lead, "governance:phase-decide", change.pk), (guardian, "governance:phase-decide", change.pk),
                             (lead, "governance:phase-withdraw", change.pk),
                             (guardian, "governance:agreement-decide", agreement.pk),
                             (lead, "governance:agreement-withdraw", agreement.pk)):
        response = client.post(reverse(name), {"proposal": pk, "decision": "confirm", "reason": "x", "confirmed": "yes"})
        assert response.status_code == 404, name
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    assert Agreement.objects.get(pk=agreement.pk).status == ChangeStatus.PROPOSED
    # ...and their own pages show nothing of ours.
    body = guardian.get(reverse("governance:agreement-decide")).content.decode()
    assert "Nothing to decide" in body and "Version 1" not in body


def agreement_form(**changes) -> dict:
    data = {
        "parties": "Synthetic Trust (controller)", "purposes": "Scoping then delivery",
        "trust_article_6": "art6_1_e", "trust_article_9": "art9_2_g", "trust_power": "ca2004_s10",
        "pause_article_6": "art6_1_f", "pause_article_9": "art9_2_g", "pause_power": "",
        "data_items_scoping": ["scoping_tokens", "age_band"], "decide_changes_within_days": "14",
        "data_items_delivery": ["name"], "uk_only_processing": "on", "policy_document_reference": "APD-1",
        "dpia_reference": "DPIA-1", "dpia_signed_off_by": "Synthetic Signatory", "dpia_signed_off_on": "5/1/2026",
        "scoping_extension_days": "0", "change_reason": "",
    }
    data |= {f"retention_{s}": "Six years" for s in ("scoping_data", "final_report", "delivery_records",
                                                     "trust_records", "audit_trail", "do_not_approach",
                                                     "untouched_women", "not_eligible_women")}
    return data | changes


def test_proposing_confirming_and_the_versions_through_the_pages(programme, trust_lead, caldicott, dpo):
    lead = sign_in_verified(Client(), trust_lead)
    response = lead.post(reverse("governance:agreement-propose"), agreement_form(policy_document_reference=""))
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body and "Enter the reference of the appropriate policy document" in body
    assert not Agreement.objects.exists()
    response = lead.post(reverse("governance:agreement-propose"), agreement_form())
    assert response.status_code == 302 and response["Location"].endswith("?version=1")
    v1 = Agreement.objects.get()
    assert v1.dpia_signed_off_on.isoformat() == "2026-01-05" and v1.uk_only_processing

    guardian = sign_in_verified(Client(), caldicott)
    body = guardian.get(reverse("governance:agreement-decide")).content.decode()
    assert "Version 1: confirm or reject" in body and trust_lead.full_name in body
    for decision in ("reject", "confirm"):
        response = guardian.post(reverse("governance:agreement-decide"), {"proposal": v1.pk, "decision": decision})
        assert response.status_code == 400
        assert "Enter your justification for confirming or rejecting" in response.content.decode()
    assert Agreement.objects.get().status == ChangeStatus.PROPOSED
    assert guardian.post(reverse("governance:agreement-decide"),
                         {"proposal": v1.pk, "decision": "confirm", "reason": "Matches the DPIA"}).status_code == 302
    assert Agreement.objects.get().status == ChangeStatus.CONFIRMED

    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=21)
    response = lead.post(reverse("governance:agreement-propose"),
                         agreement_form(scoping_extension_days="21", change_reason="Late extract"))
    assert response.status_code == 302
    v2 = Agreement.objects.get(version=2)
    guardian.post(reverse("governance:agreement-decide"),
                  {"proposal": v2.pk, "decision": "confirm", "reason": "The notice allows 21 days"})
    body = sign_in_verified(Client(), dpo).get(reverse("governance:agreement") + "?version=2").content.decode()
    assert "What changed from version 1" in body and "21 days beyond three months" in body
    assert "Late extract" in body
    assert sign_in_verified(Client(), dpo).get(reverse("governance:agreement") + "?version=9").status_code == 404


def test_the_phase_page_propose_then_confirm_by_a_second_person(programme, trust_lead, caldicott, dpo):
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    with time_machine.travel(datetime(2027, 2, 21, 9, tzinfo=UTC), tick=False):
        body = sign_in_verified(Client(), trust_lead).get(reverse("governance:phase")).content.decode()
    lead = sign_in_verified(Client(), trust_lead)
    assert "7 days left in scoping" in body and "28 February 2027" in body and "Propose ending scoping" in body
    assert lead.post(reverse("governance:phase-propose"), {"reason": " "}).status_code == 400
    assert lead.post(reverse("governance:phase-propose"), {"reason": "Scoping is done"}).status_code == 400
    assert lead.post(reverse("governance:phase-propose"),
                     {"reason": "Scoping is done", "no_final_report_kept": "on"}).status_code == 302
    change = PhaseChange.objects.get()
    body = lead.get(reverse("governance:phase")).content.decode()
    assert "You proposed this change" in body and "Record the decision" not in body
    # the proposer's own confirmation is refused, on the page too
    response = lead.post(reverse("governance:phase-decide"), {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"})
    assert response.status_code == 400 and "never by the person who proposed it" in response.content.decode()
    # the DPO sees the page but cannot decide
    assert "Record the decision" not in sign_in_verified(Client(), dpo).get(reverse("governance:phase")).content.decode()
    assert sign_in_verified(Client(), dpo).post(reverse("governance:phase-decide"),
                                                {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 404
    guardian = sign_in_verified(Client(), caldicott)
    assert "Record the decision" in guardian.get(reverse("governance:phase")).content.decode()
    assert guardian.post(reverse("governance:phase-decide"),
                         {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 302
    programme.refresh_from_db()
    assert programme.phase == Phase.DELIVERY


def test_withdrawing_on_the_phase_page(programme, trust_lead):
    lead = sign_in_verified(Client(), trust_lead)
    lead.post(reverse("governance:phase-propose"), {"reason": "Ready", "no_final_report_kept": "on"})
    change = PhaseChange.objects.get()
    assert lead.post(reverse("governance:phase-withdraw"), {"proposal": change.pk + 1}).status_code == 404
    asked = lead.post(reverse("governance:phase-withdraw"), {"proposal": change.pk})
    assert asked.status_code == 200 and "Are you sure you want to withdraw the proposed phase change?" in (
        asked.content.decode())
    assert f'href="{reverse("governance:phase")}"' in asked.content.decode()
    assert PhaseChange.objects.get().status == ChangeStatus.PROPOSED  # asking changes nothing
    assert lead.post(reverse("governance:phase-withdraw"),
                     {"proposal": change.pk, "confirmed": "yes"}).status_code == 302
    assert PhaseChange.objects.get().status == ChangeStatus.WITHDRAWN


def test_withdrawing_a_proposed_agreement_asks_first(programme, trust_lead):
    agreement = propose_agreement(programme=programme, by=trust_lead, values=valid_values())
    lead = sign_in_verified(Client(), trust_lead)
    asked = lead.post(reverse("governance:agreement-withdraw"), {"proposal": agreement.pk})
    page = asked.content.decode()
    assert asked.status_code == 200
    assert f"Are you sure you want to withdraw version {agreement.version} of the agreement?" in page
    assert f'href="{reverse("governance:agreement")}"' in page and 'name="confirmed" value="yes"' in page
    assert Agreement.objects.get(pk=agreement.pk).status == ChangeStatus.PROPOSED  # asking changes nothing
    assert lead.post(reverse("governance:agreement-withdraw"),
                     {"proposal": agreement.pk, "confirmed": "yes"}).status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).status == ChangeStatus.WITHDRAWN


@pytest.mark.parametrize(("actor", "shown"), [("trust_lead", True), ("caldicott", True), ("pause_lead", True),
                                             ("dpo", False), ("caseworker", False), ("practitioner", False)])
def test_the_countdown_on_the_dashboards(actor, shown, actors, programme):
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    with time_machine.travel(datetime(2027, 1, 29, 12, tzinfo=UTC), tick=False):
        body = sign_in_verified(Client(), actors[actor]).get(reverse("dashboard")).content.decode()
    assert ("30 days left in scoping" in body and "28 February 2027" in body) == shown


def test_the_dashboard_countdown_follows_a_confirmed_extension_and_ends(programme, trust_lead, caldicott):
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=10)
    v1 = propose_agreement(programme=programme, by=trust_lead, change_reason="More time",
                           values=valid_values(scoping_extension_days=10))
    confirm_agreement(agreement=v1, by=caldicott, justification="Within the agreed purpose")
    with time_machine.travel(datetime(2027, 3, 9, 12, tzinfo=UTC), tick=False):
        body = sign_in_verified(Client(), trust_lead).get(reverse("dashboard")).content.decode()
        assert "1 day left in scoping" in body
    with time_machine.travel(datetime(2027, 3, 10, 11, tzinfo=UTC), tick=False):
        body = sign_in_verified(Client(), trust_lead).get(reverse("dashboard")).content.decode()
        assert "Scoping ended on 10 March 2027" in body
