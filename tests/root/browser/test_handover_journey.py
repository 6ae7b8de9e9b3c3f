"""Hand-over when a practitioner leaves, in a real browser (issue 22, point 8): a system
administrator deactivates a practitioner with two women in her caseload (a confirmation page that
says where they go); the Pause lead is emailed, sees "2 women need a practitioner" on her
dashboard, opens the list and assigns each woman to the other practitioner, after which the list is
empty and the prompt gone. Every page axe-checked. All data is synthetic."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from pause_portal.tenancy.models import Person
from tests import factories as f
from tests.root.browser.helpers import check_axe, sign_in
from tests.sharing.delivery.world import delivery_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_practitioner_leaves_and_the_pause_lead_assigns_her_women_again(page_for, live_server):
    world = delivery_world(women=2)
    p1, p2 = world.practitioners
    for released in world.released:
        world.assign(released, p1)
    admin = f.person(world.programme.trust, system_admin=True)

    a = page_for()
    sign_in(a, live_server, admin)
    a.goto(live_server.url + reverse("people:deactivate", args=[p1.pk]))
    expect(a.locator("#what-ends")).to_contain_text("goes to each programme's Pause lead")
    check_axe(a, "handover-deactivate")
    a.get_by_role("button", name="Deactivate").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("deactivated and signed out everywhere")
    assert not Person.objects.get(pk=p1.pk).is_active

    [email] = [m for m in mail.outbox if "need a practitioner" in m.subject]
    assert email.to == [world.pause_lead.email]
    assert re.findall(r"https?://\S+", email.body) == [live_server.url + reverse("delivery:unassigned")]

    lead = page_for()
    sign_in(lead, live_server, world.pause_lead)
    lead.goto(live_server.url + reverse("dashboard"))
    expect(lead.locator("#need-practitioner")).to_contain_text("2 women need a practitioner")
    check_axe(lead, "handover-dashboard-prompt")
    lead.get_by_role("link", name="Women who need a practitioner").click()
    expect(lead.locator("h1")).to_have_text("Women who need a practitioner")
    rows = lead.locator("#unassigned tbody tr")
    expect(rows).to_have_count(2)
    check_axe(lead, "handover-list")

    for left in (1, 0):
        rows.first.locator("select").select_option(label=p2.full_name)
        rows.first.get_by_role("button").click()
        expect(lead.locator(".govuk-notification-banner")).to_contain_text("Her practitioner is saved")
        expect(rows).to_have_count(left)
    expect(lead.locator("#no-women")).to_be_visible()
    check_axe(lead, "handover-list-empty")
    lead.goto(live_server.url + reverse("dashboard"))
    expect(lead.locator("main")).to_contain_text("Women who need a practitioner")
    expect(lead.locator("#need-practitioner")).to_have_count(0)
