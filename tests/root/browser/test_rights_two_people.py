"""The two-person erasure in a real browser (issue 17): the DPO opens a request with its receipt and
the structured identity check, proposes the erasure with the Art. 17(3) assessment, the Caldicott
Guardian reads the confirmation page (no case record) and confirms; then her report of the DPO's
activity. Every page axe-checked. All data is synthetic."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from audit.core.models_rights import RightsRequest
from eligibility.models import Woman
from pseudonymisation.fields import Protector
from tests.audit.oversight.test_rights_world import rights_world
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dpo_proposes_and_the_caldicott_guardian_confirms(page_for, live_server):
    w = rights_world(women=1)
    woman = w.delivery.released[0].woman
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    surname = woman.reveal(protector, "surname")

    d = page_for()
    sign_in(d, live_server, w.dpo)
    d.goto(live_server.url + reverse("rights:open"))
    d.get_by_label("Erasure (Art. 17)").check()
    d.get_by_label("Trust person ID", exact=True).check()
    d.get_by_label("Trust person ID or NHS number").fill(woman.reveal(protector, "trust_person_id"))
    today = timezone.localdate()
    d.get_by_label("Day").fill(str(today.day))
    d.get_by_label("Month").fill(str(today.month))
    d.get_by_label("Year").fill(str(today.year))
    d.get_by_label("Through the Trust").check()
    d.get_by_label("Original documents seen in person").check()
    d.get_by_label("Driving licence").check()
    d.get_by_label(f"{w.caseworker.full_name} (Trust caseworker)").check()
    d.get_by_role("button", name="Open the request").click()
    expect(d.locator(".govuk-notification-banner")).to_contain_text("opened")
    expect(d.locator("#identity")).to_contain_text("Driving licence")
    check_axe(d, "rights-erasure-request")
    d.get_by_label("Art. 17(1)(a): no longer necessary for the purposes it was collected for").check()
    for letter in "abcde":
        d.locator(f"input[name='art17_3_{letter}'][value='no']").check()
    d.get_by_label("I propose erasing her records, for the Caldicott Guardian to confirm").check()
    d.get_by_role("button", name="Propose the erasure").click()
    expect(d.locator("#pending")).to_contain_text("Nothing happens until the Caldicott Guardian confirms it")
    check_axe(d, "rights-erasure-proposed")
    rr = RightsRequest.objects.get()

    g = page_for()
    sign_in(g, live_server, w.caldicott)
    g.get_by_role("link", name="Decisions awaiting your confirmation").click()
    check_axe(g, "rights-confirmations")
    g.get_by_role("link", name=rr.reference).click()
    expect(g.locator("h1")).to_contain_text(rr.reference)
    expect(g.locator("#would-keep")).to_contain_text("outside the portal")
    assert surname not in g.content()
    check_axe(g, "rights-confirmation")
    g.get_by_label("Confirm").check()
    g.get_by_label("Your justification").fill("No Art. 17(3) exemption applies and the ground is made out")
    g.get_by_role("button", name="Record the decision").click()
    expect(g.locator(".govuk-notification-banner")).to_contain_text("Confirmed")
    assert not Woman.objects.filter(pk=woman.pk).exists()
    g.goto(live_server.url + reverse("dpo:activity"))
    expect(g.locator("#rights-activity")).to_contain_text("Erasure confirmed")
    check_axe(g, "dpo-activity-rights")
