"""People and roles in a real browser (issue 24, point 1): a system administrator adds a person, who
gets their one-time link by email (never on the administrator's screen) and opens it; the
administrator grants a role, changes it to a lead role (a confirmation page first), a second
administrator confirms it, and the first revokes it (a confirmation page first) and deactivates
the person. Every page axe-checked. All data is synthetic."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import OrganisationKind, Role
from tests import factories as f
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LINK = re.compile(r"https?://\S+/account/link/[A-Za-z0-9_\-]+/")


def test_an_administrator_adds_a_person_and_grants_changes_and_revokes_their_role(page_for, live_server):
    trust = f.organisation(OrganisationKind.TRUST, name="Synthetic Trust")
    programme = f.programme(name="Synthetic programme", trust=trust)
    admin = f.person(trust, system_admin=True)
    second_admin = f.person(trust, system_admin=True)

    a = page_for()
    sign_in(a, live_server, admin)
    a.goto(live_server.url + reverse("people:list"))
    check_axe(a, "people-list")
    a.get_by_role("link", name="Add a person").click()
    a.get_by_role("button", name="Add and email their link").click()
    expect(a.locator(".govuk-error-summary")).to_contain_text("Enter their full name")
    check_axe(a, "people-add-errors")
    a.get_by_label("Full name").fill("Robin Synthetic")
    a.get_by_label("Email address").fill("robin.synthetic@test.invalid")
    a.get_by_label("Organisation").select_option(label="Synthetic Trust")
    a.get_by_role("button", name="Add and email their link").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("it is not shown to you")
    expect(a.locator("h1")).to_have_text("Robin Synthetic")
    check_axe(a, "people-person-added")

    # The link is in the email to the person, and nowhere on the administrator's screen.
    robin = Person.objects.get(email="robin.synthetic@test.invalid")
    assert [m.to for m in mail.outbox] == [[robin.email]]
    link = LINK.search(mail.outbox[0].body).group(0)
    assert link.rsplit("/", 2)[1] not in a.content() and "/account/link/" not in a.content()

    r = page_for()
    r.goto(link)
    check_axe(r, "people-new-person-opens-link")
    r.fill("#id_new_password", "a-long-synthetic-passphrase-42")
    r.fill("#id_confirm_password", "a-long-synthetic-passphrase-42")
    with r.expect_navigation():
        r.click("main button[type=submit]")
    expect(r.locator("h1")).to_have_text("Set up two-step sign-in")

    # Grant a role that starts at once.
    a.get_by_role("link", name="Grant a role").click()
    a.get_by_role("button", name="Grant the role").click()
    expect(a.locator(".govuk-error-summary")).to_contain_text("Select a programme")
    check_axe(a, "people-grant-errors")
    a.get_by_label("Synthetic programme").check()
    a.get_by_label("Trust caseworker").check()
    a.get_by_role("button", name="Grant the role").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("is granted Trust caseworker")
    expect(a.locator("#roles")).to_contain_text("Trust caseworker")

    # Change it to a lead role: checked on its own page, then waiting for a second administrator.
    a.get_by_role("link", name="Change role in Synthetic programme").click()
    check_axe(a, "people-change-role")
    a.get_by_label("Trust lead (starts when a second person confirms it)").check()
    a.get_by_role("button", name="Continue").click()
    expect(a.locator("h1")).to_have_text("Check the change before you confirm it")
    expect(a.locator("#what-ends")).to_contain_text("until then they hold no role in Synthetic programme")
    check_axe(a, "people-change-role-confirm")
    assert Membership.objects.get(person=robin).role == Role.TRUST_CASEWORKER  # not yet
    a.get_by_role("button", name="Change the role").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("is waiting for confirmation")
    expect(a.locator("#roles")).to_contain_text("Awaiting confirmation")
    check_axe(a, "people-role-changed")

    s = page_for()
    sign_in(s, live_server, second_admin)
    s.goto(live_server.url + reverse("people:grants"))
    s.get_by_role("link", name="Confirm Trust lead for Robin Synthetic").click()
    expect(s.locator("h1")).to_have_text("Confirm the grant of Trust lead?")
    check_axe(s, "people-confirm-grant")
    s.get_by_label("Your justification").fill("The Trust board appointed them lead")
    s.get_by_role("button", name="Confirm the grant").click()
    expect(s.locator(".govuk-notification-banner")).to_contain_text("Role confirmed")
    lead = Membership.objects.get(person=robin, status=MembershipStatus.ACTIVE)
    assert (lead.programme, lead.role, lead.confirmed_by) == (programme, Role.TRUST_LEAD, second_admin)

    # Revoke it, after a confirmation page.
    a.reload()
    a.get_by_role("link", name="Revoke role in Synthetic programme").click()
    expect(a.locator("h1")).to_have_text("Revoke Trust lead?")
    check_axe(a, "people-revoke-role")
    a.get_by_role("button", name="Revoke the role").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("no longer holds Trust lead")
    expect(a.locator("main")).to_contain_text("They hold no role in any programme")
    assert Membership.objects.get(pk=lead.pk).status == MembershipStatus.REVOKED

    # Deactivate, after a confirmation page.
    a.get_by_role("link", name="Deactivate").click()
    expect(a.locator("h1")).to_have_text("Deactivate Robin Synthetic?")
    check_axe(a, "people-deactivate")
    a.get_by_role("button", name="Deactivate").click()
    expect(a.locator(".govuk-notification-banner")).to_contain_text("deactivated and signed out everywhere")
    check_axe(a, "people-deactivated")
    robin.refresh_from_db()
    assert not robin.is_active
