"""The rights pages: every one refused (404, GET and POST) to every role but the DPO — and the
caseworker's rectification step to everyone but Trust caseworkers; another programme's requests
and breaches are 404; the flows through the pages (open, restrict, objection, erase, pack,
rectification, breach) and the dashboards' lists. All data is synthetic."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from audit.core.models_rights import (
    Breach,
    ProposalStatus,
    RequestStatus,
    RightsProposal,
    RightsRequest,
)
from audit.oversight import rights
from eligibility.models import Restriction, Woman
from pause_portal.tenancy.roles import OrganisationKind, Role
from pseudonymisation.fields import Protector
from tests import factories as f
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
         Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN]
# url name -> (needs an object: "request", "rectification", "breach" or None; who may reach it)
PAGES = {
    "rights:requests": (None, Role.DPO), "rights:open": (None, Role.DPO), "rights:request": ("request", Role.DPO),
    "rights:pack": ("request", Role.DPO), "rights:pack-download": ("request", Role.DPO),
    "rights:pack-withhold": ("request", Role.DPO),
    "rights:breaches": (None, Role.DPO), "rights:breach-new": (None, Role.DPO), "rights:breach": ("breach", Role.DPO),
    "rights:rectifications": (None, Role.TRUST_CASEWORKER),
    "rights:rectification": ("rectification", Role.TRUST_CASEWORKER),
    "rights:confirmations": (None, Role.CALDICOTT_GUARDIAN),
    "rights:confirmation": ("proposal", Role.CALDICOTT_GUARDIAN),
}


def _person(programme, role):
    if role == Role.SYSTEM_ADMIN:
        return f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)
    return member(programme, role)


def _objects(w):
    access = w.request("access")
    return {"request": access, "rectification": w.request("rectification", 1),
            "breach": Breach.objects.create(programme=w.programme, reference="BR-2026-900",
                                            found_at=timezone.now(), aware_at=timezone.now(), risk="risk",
                                            recorded_by=w.dpo),
            # a pending proposal to decide on (made directly: only its page's access is tested here)
            "proposal": RightsProposal.objects.create(programme=w.programme, request=access, kind="objection_upheld",
                                                      proposed_by=w.dpo)}


def _url(name, objects):
    kind = PAGES[name][0]
    return reverse(name, args=[objects[kind].pk]) if kind else reverse(name)


def test_the_pages_are_exactly_these():
    from tests.root.test_urlconf_metatest import portal_urls

    assert {name for name, *_ in portal_urls() if name.startswith("rights:")} == set(PAGES)


@pytest.mark.parametrize("role", ROLES)
def test_every_rights_page_is_refused_to_every_other_role_get_and_post(role):
    w = rights_world(women=2)
    objects = _objects(w)
    person = _person(w.programme, role)
    client = sign_in_verified(Client(), person)
    for name, (_, owner) in PAGES.items():
        url = _url(name, objects)
        for method in ("get", "post"):
            before = AuditEntry.objects.filter(event=Event.REFUSED, actor=person).count()
            data = {"rights:rectification": {"action": "finish", "note": ""},  # invalid: each changes nothing
                    "rights:breach": {"action": "ico", "ico-told": "maybe"}}.get(
                name, {"action": "extend", "months": "9", "reason": ""})
            response = getattr(client, method)(url, data)
            if role == owner:
                expected = 405 if (name, method) in {("rights:pack-download", "get"), ("rights:pack-withhold", "get"),
                                                     ("rights:confirmations", "post")} else None
                if expected:
                    assert response.status_code == expected, (name, method)
                else:
                    assert response.status_code in (200, 302, 400), (name, method, response.status_code)
            else:
                assert response.status_code == 404, (name, role, method, response.status_code)
                assert AuditEntry.objects.filter(event=Event.REFUSED, actor=person).count() == before + 1
    assert RightsRequest.objects.filter(status=RequestStatus.OPEN).count() == 2
    assert not RightsRequest.objects.filter(extensions__isnull=False).exists()
    assert RightsProposal.objects.get().status == ProposalStatus.PENDING


@pytest.mark.parametrize("name", [n for n, (kind, _) in PAGES.items() if kind])
def test_another_programmes_objects_are_404(name):
    w = rights_world(women=2, name="This programme")
    objects = _objects(w)
    other = rights_world(women=0, name="Another programme")
    outsider = {Role.DPO: other.dpo, Role.CALDICOTT_GUARDIAN: other.caldicott}.get(PAGES[name][1], other.caseworker)
    client = sign_in_verified(Client(), outsider)
    for method in ("get", "post"):
        assert getattr(client, method)(_url(name, objects)).status_code == 404


def _dpo_client(w):
    return sign_in_verified(Client(), w.dpo)


def test_the_dpo_opens_a_request_through_the_page_and_sees_her_under_its_reference():
    w = rights_world(women=1)
    woman = w.delivery.released[0].woman
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    trust_id = woman.reveal(protector, "trust_person_id")
    client = _dpo_client(w)
    today = timezone.localdate()
    data = {"kind": "access", "find_by": "person_id", "identifier": "NOPE-1", "received_day": today.day,
            "received_month": today.month, "received_year": today.year, "received_via": "letter",
            "identity_method": "in_person", "identity_document": "passport", "identity_checked_by": w.caseworker.pk,
            "identity_check": "Seen at the Trust's office"}
    response = client.post(reverse("rights:open"), data)
    assert response.status_code == 400 and b"No woman in this programme has that Trust person ID" in response.content
    response = client.post(reverse("rights:open"), {**data, "received_year": today.year + 1, "identifier": trust_id})
    assert response.status_code == 400 and b"today or in the past" in response.content
    assert not RightsRequest.objects.exists()
    response = client.post(reverse("rights:open"), {**data, "identifier": trust_id})
    rr = RightsRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rights:request", args=[rr.pk])
    assert trust_id not in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200 and woman.reveal(protector, "surname").encode() in page.content
    assert b"There is a problem" not in page.content and b"govuk-error-summary" not in page.content  # none to show
    view = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=w.dpo, reason=rr.reference).get()
    assert view.page == reverse("rights:request", args=[rr.pk])
    # The entry names her and the request shown about her (the register is served too: ADR 26).
    assert sorted(view.subjects.values_list("subject", flat=True)) == [f"audit.rightsrequest:{rr.pk}",
                                                                        f"eligibility.woman:{woman.pk}"]
    dashboard = client.get(reverse("dashboard"))
    assert rr.reference.encode() in dashboard.content and b"Rights requests due" in dashboard.content


def test_restricting_through_the_request_page_hides_her_from_every_pause_page_at_once():
    w = rights_world(women=2)
    first, second = w.delivery.released
    practitioner = w.delivery.practitioners[0]
    w.delivery.assign(first, practitioner)
    surname = first.woman.reveal(Protector.load(w.programme.pk, Woman.key_phase), "surname").encode()
    lead, prac = sign_in_verified(Client(), w.delivery.pause_lead), sign_in_verified(Client(), practitioner)
    pages = [(lead, reverse("delivery:women")), (prac, reverse("delivery:caseload"))]
    her_pages = [(lead, reverse("delivery:woman", args=[first.pk])), (prac, reverse("delivery:woman", args=[first.pk])),
                 (prac, reverse("casework:woman", args=[first.pk]))]
    assert all(surname in c.get(u).content for c, u in pages)
    assert all(c.get(u).status_code == 200 for c, u in her_pages)
    rr = w.request("restriction")
    response = _dpo_client(w).post(reverse("rights:request", args=[rr.pk]), {"action": "restrict"})
    assert response.status_code == 302
    assert not any(surname in c.get(u).content for c, u in pages)
    assert all(c.get(u).status_code == 404 for c, u in her_pages)
    assert lead.get(reverse("delivery:woman", args=[second.pk])).status_code == 200
    # Ending it asks first; asking changes nothing; confirming ends it.
    dpo = _dpo_client(w)
    asked = dpo.post(reverse("rights:request", args=[rr.pk]), {"action": "lift"})
    assert asked.status_code == 200 and b"Are you sure you want to end the restriction of her records" in asked.content
    assert f'href="{reverse("rights:request", args=[rr.pk])}"'.encode() in asked.content
    assert b'name="action" value="lift"' in asked.content
    assert Restriction.objects.filter(woman=first.woman, ended_at__isnull=True).exists()
    response = dpo.post(reverse("rights:request", args=[rr.pk]), {"action": "lift", "confirmed": "yes"})
    assert response.status_code == 302
    assert not Restriction.objects.filter(woman=first.woman, ended_at__isnull=True).exists()


def test_objection_and_erasure_through_the_request_page():
    w = rights_world(women=2)
    client = _dpo_client(w)
    objection = w.request("objection")
    url = reverse("rights:request", args=[objection.pk])
    response = client.post(url, {"action": "objection", "outcome": "not_upheld", "note": ""})
    assert response.status_code == 400 and b"compelling grounds" in response.content
    response = client.post(url, {"action": "objection", "outcome": "not_upheld", "note": "Grounds (synthetic)"})
    assert response.status_code == 302 and RightsRequest.objects.get(pk=objection.pk).objection_outcome
    erasure = w.request("erasure", 1)
    url = reverse("rights:request", args=[erasure.pk])
    no = {f"art17_3_{x}": "no" for x in "abcde"}
    response = client.post(url, {"action": "propose_erasure", "ground": "art17_1_a", **no})
    assert response.status_code == 400 and b"Confirm that you propose erasing her records" in response.content
    response = client.post(url, {"action": "propose_erasure", "ground": "art17_1_a", "confirm": "on"})
    assert response.status_code == 400 and b"Select whether Art. 17(3)(a) applies" in response.content
    response = client.post(url, {"action": "propose_erasure", "ground": "art17_1_a", "confirm": "on",
                                 **no, "art17_3_e": "yes"})
    assert response.status_code == 400 and b"Art. 17(3)(e): establishing, exercising or defending legal claims" \
        in response.content
    assert not RightsProposal.objects.filter(request=erasure).exists()
    woman_id = erasure.woman_id
    response = client.post(url, {"action": "propose_erasure", "ground": "art17_1_a", "confirm": "on", **no})
    assert response.status_code == 302 and Woman.objects.filter(pk=woman_id).exists()  # proposed, not erased
    page = client.get(url)
    assert b"Nothing happens until the Caldicott Guardian confirms it" in page.content
    proposal = RightsProposal.objects.get(request=erasure)
    guardian = sign_in_verified(Client(), w.caldicott)
    decide = reverse("rights:confirmation", args=[proposal.pk])
    response = guardian.post(decide, {"proposal": proposal.pk, "decision": "confirm", "reason": "Synthetic justification"})
    assert response.status_code == 302 and not Woman.objects.filter(pk=woman_id).exists()
    page = client.get(url)
    assert page.status_code == 200 and b"confirmed by" in page.content and b"outside the portal" in page.content
    assert client.post(url, {"action": "nonsense"}).status_code == 404


def test_the_pack_page_decisions_and_download():
    w = rights_world(women=1)
    rr = w.request("access")
    client = _dpo_client(w)
    url = reverse("rights:pack", args=[rr.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"await" in page.content and b"Download her access pack" not in page.content
    response = client.post(reverse("rights:pack-download", args=[rr.pk]))
    assert response.status_code == 302  # refused until every item has a decision
    assert client.post(url, {"item": "sharing.person:999999", "basis": "consented"}).status_code == 400
    from audit.oversight import access_pack

    for item in access_pack.build(rr, by=w.dpo, page="/t").items:
        assert client.post(url, {"item": item.ref, "basis": "no_consent"}).status_code == 302
    assert b"Download her access pack" in client.get(url).content
    response = client.post(reverse("rights:pack-download", args=[rr.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="access-pack-{rr.reference}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert f"access-pack-{rr.reference}/access-pack-{rr.reference}.html" in archive.namelist()


def test_the_caseworker_corrects_and_finishes_through_the_page():
    w = rights_world(women=1)
    rr = w.request("rectification")
    client = sign_in_verified(Client(), w.caseworker)
    dashboard = client.get(reverse("dashboard"))
    assert rr.reference.encode() in dashboard.content
    url = reverse("rights:rectification", args=[rr.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "correct", "record": "woman", "field": "postcode", "value": "not one",
                                 "reason": "Checked"})
    assert response.status_code == 400 and b"not a UK postcode" in response.content
    response = client.post(url, {"action": "correct", "record": "woman", "field": "postcode", "value": "ZZ99 1ZZ",
                                 "reason": "Checked against the case system"})
    assert response.status_code == 302
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    assert Woman.objects.get(pk=rr.woman_id).reveal(protector, "postcode") == "ZZ991ZZ"
    response = client.post(url, {"action": "finish", "note": "Postcode corrected"})
    assert response.status_code == 302 and RightsRequest.objects.get(pk=rr.pk).rectification_done_at
    assert b'id="none-waiting"' in client.get(reverse("rights:rectifications")).content
    rights.close(rr, status="completed", note="Told her", by=w.dpo)
    assert client.get(url).status_code == 404  # closed: the step is over


def test_a_breach_through_the_pages():
    w = rights_world(women=0)
    client = _dpo_client(w)
    found = timezone.localtime() - timedelta(hours=5)
    data = {"what_happened": "A letter went to an old address", "found_day": found.day, "found_month": found.month,
            "found_year": found.year, "found_time": "25:00", "people_affected": "One woman", "risk": "risk"}
    response = client.post(reverse("rights:breach-new"), data)
    assert response.status_code == 400 and b"as hours and minutes" in response.content and not Breach.objects.exists()
    response = client.post(reverse("rights:breach-new"), {**data, "found_time": found.strftime("%H:%M")})
    breach = Breach.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rights:breach", args=[breach.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"hours" in page.content and b"left" in page.content
    assert b"govuk-error-summary" not in page.content  # no empty "There is a problem" box
    assert b"A letter went to an old address" in page.content
    response = client.post(response["Location"], {"action": "ico", "ico-told": "no", "ico-not_told_reason": ""})
    assert response.status_code == 400 and b"Enter why they were not told" in response.content
    told = found + timedelta(minutes=30)  # its own date: half an hour after 23:45 is the next day
    response = client.post(reverse("rights:breach", args=[breach.pk]),
                           {"action": "ico", "ico-told": "yes", "ico-told_on_day": told.day,
                            "ico-told_on_month": told.month, "ico-told_on_year": told.year,
                            "ico-told_time": told.strftime("%H:%M"), "ico-reference": "ICO-1"})
    assert response.status_code == 302 and Breach.objects.get().ico_reference == "ICO-1"
    assert b"BR-" in client.get(reverse("rights:breaches")).content


def test_withdrawing_a_proposal_and_recording_an_identity_check_through_the_request_page():
    from audit.oversight import proposals
    from tests.audit.oversight.test_rights_world import NO_EXEMPTION

    w = rights_world(women=2)
    client = _dpo_client(w)
    rr = w.request("erasure")
    proposal = proposals.propose_erasure(rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    url = reverse("rights:request", args=[rr.pk])
    response = client.post(url, {"action": "withdraw", "withdraw_reason": ""})
    assert response.status_code == 400 and b"Enter why the proposal is withdrawn" in response.content
    response = client.post(url, {"action": "withdraw", "withdraw_reason": "She withdrew her request"})
    assert response.status_code == 302 and RightsProposal.objects.get(pk=proposal.pk).status == ProposalStatus.WITHDRAWN
    # a request from before issue 17: free text only, so the gate is shut until the check is recorded
    woman = w.delivery.released[1].woman
    old = RightsRequest(programme=w.programme, reference="DPO-2026-950", kind="access", woman=woman,
                        person_id_index=woman.person_id_index, received_on=timezone.localdate(),
                        due_on=timezone.localdate() + timedelta(days=30), owner=w.dpo, opened_by=w.dpo)
    old.protect(rights.protector_for(old), identity_check="Seen")
    old.save()
    url = reverse("rights:request", args=[old.pk])
    surname = woman.reveal(Protector.load(w.programme.pk, Woman.key_phase), "surname").encode()
    assert surname not in client.get(url).content
    response = client.post(url, {"action": "identity", "identity_method": "copies", "identity_document": "passport",
                                 "identity_checked_by": w.caseworker.pk, "identity_check": "No. 12345678"})
    assert response.status_code == 400 and b"Do not record a document&#x27;s number" in response.content
    response = client.post(url, {"action": "identity", "identity_method": "copies", "identity_document": "passport",
                                 "identity_checked_by": w.caseworker.pk})
    assert response.status_code == 302 and surname in client.get(url).content
