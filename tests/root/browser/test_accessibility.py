"""Accessibility in a real browser: axe-core (WCAG 2.2 AA and below) on the sign-in pages and
every role's dashboard, each reached through the real forms; sign-in by keyboard alone; and
no Content-Security-Policy violations with the policy enforced."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pause_portal.tenancy.roles import OrganisationKind, Role
from tests import factories as f
from tests.root.browser.helpers import (
    check_axe,
    device_of,
    mfa_step,
    password_step,
    screenshot,
    sign_in,
    wrong_code_for,
)
from tests.totp import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGN_IN = reverse("accounts:sign-in")
MFA = reverse("accounts:mfa-verify")
ENROL = reverse("accounts:mfa-enrol")
DASHBOARD = reverse("dashboard")


# --- sign-in and two-step pages --------------------------------------------------------------
def test_sign_in_page(page, live_server):
    page.goto(live_server.url + SIGN_IN)
    expect(page.locator("h1")).to_have_text("Sign in")
    check_axe(page, "sign-in")


def test_sign_in_page_with_error_summary(page, live_server, caseworker):
    password_step(page, live_server, caseworker, password="not-the-password")
    assert page.url.startswith(live_server.url + SIGN_IN)
    expect(page).to_have_title("Error: Sign in – Pause data-sharing portal")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter a correct email address and password.")
    check_axe(page, "sign-in-error")


def test_mfa_verify_page(page, live_server, caseworker):
    password_step(page, live_server, caseworker)
    assert page.url == live_server.url + MFA
    expect(page.locator("h1")).to_have_text("Enter your security code")
    check_axe(page, "mfa-verify")


def test_mfa_verify_page_with_error(page, live_server, caseworker):
    password_step(page, live_server, caseworker)
    mfa_step(page, caseworker, code=wrong_code_for(device_of(caseworker)))
    assert page.url == live_server.url + MFA
    expect(page).to_have_title("Error: Enter your security code – Pause data-sharing portal")
    expect(page.locator(".govuk-error-summary")).to_contain_text("The security code is wrong")
    expect(page.locator("#id_otp_token-error")).to_be_visible()
    check_axe(page, "mfa-verify-error")


def test_mfa_enrolment_page(page, live_server, programme, system_admin):
    """Set-up is reached only from a redeemed one-time link (ADR 21); a password alone gets the
    page that says so."""
    from pause_portal.tenancy.models import AccountLinkPurpose
    from sharing import actions

    newcomer = f.person(programme.trust, with_device=False)
    f.membership(newcomer, programme, Role.TRUST_CASEWORKER)
    password_step(page, live_server, newcomer)
    expect(page.locator("h1")).to_have_text("Use your one-time link to set up two-step sign-in")
    check_axe(page, "mfa-enrol-needs-link")
    token = actions.issue_account_link(person=newcomer, purpose=AccountLinkPurpose.MFA_RESET, by=system_admin)
    page.goto(live_server.url + reverse("accounts:account-link", args=[token]))
    page.fill("#id_password", f.PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == live_server.url + ENROL
    expect(page.locator("h1")).to_have_text("Set up two-step sign-in")
    expect(page.locator("img.portal-qr")).to_be_visible()
    check_axe(page, "mfa-enrol")


# --- every role's dashboard, reached through the real forms ----------------------------------
ROLES = {
    "caseworker": Role.TRUST_CASEWORKER,
    "trust_lead": Role.TRUST_LEAD,
    "caldicott": Role.CALDICOTT_GUARDIAN,
    "dpo": Role.DPO,
    "pause_lead": Role.PAUSE_LEAD,
    "practitioner": Role.PAUSE_PRACTITIONER,
    "system_admin": Role.SYSTEM_ADMIN,
}


@pytest.mark.parametrize("actor", list(ROLES))
def test_dashboard(page, live_server, request, actor):
    person = request.getfixturevalue(actor)
    sign_in(page, live_server, person)
    expect(page.locator("h1")).to_have_text(ROLES[actor].label)
    expect(page.locator("nav[aria-label=Menu]")).to_contain_text("Sign out")
    check_axe(page, f"dashboard-{actor}")


def test_dashboard_with_pending_grants_and_programme_switcher(
    page, live_server, programme, other_programme, system_admin
):
    """The richer variants of the header and dashboard: a programme switcher (two memberships)
    and a table of role grants awaiting confirmation (with its per-row links to confirm)."""
    from django.utils import timezone

    from pause_portal.tenancy.models import Membership, MembershipStatus

    f.membership(system_admin, programme, Role.CALDICOTT_GUARDIAN)
    f.membership(system_admin, other_programme, Role.CALDICOTT_GUARDIAN)
    asker = f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)
    Membership.objects.create(
        person=f.person(programme.trust),
        programme=programme,
        role=Role.TRUST_LEAD,
        status=MembershipStatus.PENDING,
        requested_by=asker,
        requested_at=timezone.now(),
    )
    sign_in(page, live_server, system_admin)
    expect(page.locator("#programme-switcher")).to_be_visible()
    expect(page.locator("main table").first).to_contain_text("Trust lead")
    check_axe(page, "dashboard-switcher-and-grants")


# --- keyboard only ---------------------------------------------------------------------------
def _focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                    href: el.getAttribute('href'), text: (el.textContent || '').trim()};
        }"""
    )


def _tab_to(page, element_id: str, limit: int = 15) -> None:
    """Press Tab until the element with this id has focus (keyboard only, no clicks)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page)["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} was not reached within {limit} presses of Tab")


def test_skip_link_is_first_tab_stop_and_moves_focus_to_main(csp_page, live_server):
    page = csp_page
    page.goto(live_server.url + SIGN_IN)
    page.keyboard.press("Tab")
    focused = _focused(page)
    assert "govuk-skip-link" in focused["cls"], focused
    assert focused["href"] == "#main-content" and focused["text"] == "Skip to main content"
    expect(page.locator(".govuk-skip-link")).to_be_visible()  # it shows itself when focused
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main-content"


def test_sign_in_and_two_step_by_keyboard_alone(csp_page, live_server, caseworker):
    page = csp_page
    page.goto(live_server.url + SIGN_IN)
    page.keyboard.press("Tab")
    assert "govuk-skip-link" in _focused(page)["cls"]

    _tab_to(page, "id_username")
    page.keyboard.type(caseworker.email)
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "id_password"
    page.keyboard.type(f.PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + MFA

    _tab_to(page, "id_otp_token")
    page.keyboard.type(code_for(device_of(caseworker)))
    page.keyboard.press("Tab")
    focused = _focused(page)
    assert focused["tag"] == "button" and focused["text"] == "Continue", focused
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url == live_server.url + DASHBOARD
    expect(page.locator("h1")).to_have_text(Role.TRUST_CASEWORKER.label)
    screenshot(page, "keyboard-dashboard")


# --- the Content-Security-Policy, enforced ---------------------------------------------------
def test_dashboard_has_no_csp_violations(csp_page, live_server, caseworker):
    page = csp_page
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))

    response = page.goto(live_server.url + SIGN_IN)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, live_server, caseworker)
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text(Role.TRUST_CASEWORKER.label)

    # init.js ran as a module under the enforced CSP, and GOV.UK Frontend initialised.
    assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
    csp = [m for m in messages if "Content Security Policy" in m]
    assert not csp, "CSP violations:\n" + "\n".join(csp)
    errors = [m for m in messages if m.startswith("pageerror:")]
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)

    # The check can see a violation: this context enforces the policy, and an inline script
    # is refused with a console message naming it.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            """() => { const s = document.createElement('script');
                       s.textContent = 'window.__inlineRan = true';
                       document.head.appendChild(s); }"""
        )
    assert page.evaluate("() => window.__inlineRan") is None


# --- the checker itself --------------------------------------------------------------------
def test_check_axe_reports_violations(page):
    """check_axe is not vacuous: a page with known failures makes it fail, naming them."""
    page.set_content(
        "<!DOCTYPE html><html><head><title>Broken</title></head><body><main>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        check_axe(page, "axe-self-test")
    message = str(failure.value)
    for rule in ("html-has-lang", "image-alt", "label"):
        assert f"- {rule} [" in message, message
