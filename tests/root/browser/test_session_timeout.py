"""The session timeout warning (portal/timeout-warning.js, the GOV.UK / HMRC pattern) end to
end, in a browser that enforces the app's Content-Security-Policy: the dialog opens before the
idle timeout, "Stay signed in" renews the server's session, and running out of time or choosing
"Sign out" ends it.

The timeouts are shortened with pytest-django's `settings` fixture. The live server runs in a
thread of this process, so it sees the overrides: the context processor puts them on <body>
(data-timeout-seconds, data-warning-seconds) and the session backend reads SESSION_COOKIE_AGE
on every save, which keeps the server's idle expiry equal to the script's, as in settings.py.
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.roles import Role
from tests.root.browser.helpers import AXE_JS, check_axe, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IDLE = 14  # seconds: the server's idle timeout
MARGIN = 2  # the page ends its countdown this much earlier (PORTAL_SESSION_CLIENT_MARGIN_SECONDS)
CLIENT = IDLE - MARGIN  # the script's timeout, counted from the start of navigation
WARNING = 8  # seconds before it: the dialog opens CLIENT - WARNING = 4 s after the page starts
HEADING = "You're about to be signed out"

SIGN_IN = reverse("accounts:sign-in")
DASHBOARD = reverse("dashboard")
KEEP_ALIVE = reverse("accounts:keep-alive")
TIMED_OUT = reverse("accounts:timed-out")
DIALOG = "#portal-timeout-dialog"

# A same-origin address that never reaches Django: Playwright answers it with the vendored
# axe.min.js (see _inject_axe).
AXE_URL = "/__browser-tests__/axe.min.js"


@pytest.fixture
def short_session(settings):
    settings.PORTAL_SESSION_IDLE_SECONDS = IDLE
    settings.PORTAL_SESSION_WARNING_SECONDS = WARNING
    settings.PORTAL_SESSION_CLIENT_MARGIN_SECONDS = MARGIN
    settings.SESSION_COOKIE_AGE = IDLE  # settings.py ties the two together
    return settings


@pytest.fixture
def console(csp_page):
    """Console messages and uncaught errors of the page, to show the script ran cleanly."""
    messages: list[str] = []
    csp_page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    csp_page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    return messages


def _assert_clean(messages: list[str]) -> None:
    bad = [m for m in messages if "Content Security Policy" in m or m.startswith("pageerror:")]
    assert not bad, "CSP violations or JavaScript errors:\n" + "\n".join(bad)


def _inject_axe(page, live_server) -> None:
    """Load axe-core into a page that enforces the CSP.

    check_axe's own injection, add_script_tag(path=...), inlines the file into a <script>
    element, which `script-src 'self'` refuses; that is why the `page` fixture bypasses the CSP.
    A separate bypassing page would not do here: the dialog only exists on the enforcing page.
    So the script is loaded by address instead, from the page's own origin, which the policy
    allows: Playwright intercepts that address and answers with the vendored file. Once
    window.axe exists, check_axe uses it rather than injecting again."""
    page.route(
        live_server.url + AXE_URL,
        lambda route: route.fulfill(path=str(AXE_JS), content_type="text/javascript"),
    )
    page.add_script_tag(url=live_server.url + AXE_URL)
    assert page.evaluate("() => typeof window.axe !== 'undefined'")


def _session_key(page) -> str:
    from django.conf import settings

    for cookie in page.context.cookies():
        if cookie["name"] == settings.SESSION_COOKIE_NAME:
            return cookie["value"]
    raise AssertionError("no session cookie")


def _expiry(key: str):
    return Session.objects.get(session_key=key).expire_date


def _sign_in_and_wait_for_warning(page, live_server, person):
    """Sign in through the real forms; return the dialog once the script has opened it."""
    sign_in(page, live_server, person)
    dialog = page.locator(DIALOG)
    # The script builds the dialog at start-up and keeps it closed until the warning is due.
    expect(dialog).to_be_attached()
    expect(dialog).to_be_hidden()
    expect(dialog).to_be_visible(timeout=(CLIENT - WARNING + 5) * 1000)
    return dialog


def _assert_signed_out(page, live_server, key: str) -> None:
    """The server-side session is gone: its row is deleted and a protected page asks for sign-in."""
    assert not Session.objects.filter(session_key=key).exists()
    page.goto(live_server.url + DASHBOARD)
    assert page.url.startswith(live_server.url + SIGN_IN), page.url
    expect(page.locator("h1")).to_have_text("Sign in")


def test_warning_opens_and_stay_signed_in_renews_the_session(
    csp_page, console, live_server, caseworker, short_session
):
    page = csp_page
    dialog = _sign_in_and_wait_for_warning(page, live_server, caseworker)

    # It opened about CLIENT - WARNING seconds after the start of the page's navigation.
    opened_after = page.evaluate("() => performance.now() / 1000")
    assert CLIENT - WARNING - 0.25 <= opened_after <= CLIENT - WARNING + 3, opened_after

    # A modal dialog, named by its heading, with focus inside it (on the heading).
    assert page.evaluate(f"() => document.querySelector('{DIALOG}').matches(':modal')")
    expect(dialog).to_have_attribute("aria-labelledby", "portal-timeout-dialog-heading")
    expect(dialog.locator("h2")).to_have_text(HEADING)
    expect(page.get_by_role("dialog", name=HEADING)).to_be_visible()
    focus = page.evaluate(
        """(selector) => ({
            inside: document.querySelector(selector).contains(document.activeElement),
            id: document.activeElement.id,
        })""",
        DIALOG,
    )
    assert focus == {"inside": True, "id": "portal-timeout-dialog-heading"}, focus
    expect(dialog.locator("#portal-timeout-dialog-message")).to_have_text(
        re.compile(r"^For your security, we will sign you out in \d seconds?\.$")
    )

    _inject_axe(page, live_server)
    check_axe(page, "timeout-warning")  # also saves test-artifacts/screenshots/timeout-warning.png

    # "Stay signed in": a POST to the keep-alive view, answered 204, renews the server's session.
    key = _session_key(page)
    first_expiry = _expiry(key)
    with page.expect_response(
        lambda r: r.url == live_server.url + KEEP_ALIVE and r.request.method == "POST"
    ) as keep_alive:
        dialog.get_by_role("button", name="Stay signed in").click()
    assert keep_alive.value.status == 204
    expect(dialog).to_be_hidden()
    renewed_expiry = _expiry(key)
    assert renewed_expiry > first_expiry

    # Still signed in after the session would have expired without the keep-alive.
    page.wait_for_timeout(max(0.0, (first_expiry - timezone.now()).total_seconds() + 0.5) * 1000)
    assert timezone.now() > first_expiry
    page.goto(live_server.url + DASHBOARD)
    assert page.url == live_server.url + DASHBOARD, page.url
    expect(page.locator("h1")).to_have_text(Role.TRUST_CASEWORKER.label)
    expect(page.locator(DIALOG)).to_be_hidden()  # the new page starts a fresh countdown
    _assert_clean(console)


def test_running_out_of_time_signs_out(csp_page, console, live_server, caseworker, short_session):
    # The page ends its countdown MARGIN seconds before the server's session expires, so the
    # server still has the session to end and to record as expired (without the margin this was
    # a race the browser lost about 1 run in 20).
    page = csp_page
    dialog = _sign_in_and_wait_for_warning(page, live_server, caseworker)
    key = _session_key(page)
    started_ms = page.evaluate("() => performance.timeOrigin")
    expect(dialog.locator(".portal-timeout-dialog__countdown")).to_have_text(
        re.compile(r"^\d seconds?$")
    )

    # Nobody answers: when the countdown reaches zero the script posts the sign-out (reason
    # "timeout") and the server shows the timed-out page.
    page.wait_for_url(live_server.url + TIMED_OUT, timeout=(CLIENT + 5) * 1000)
    elapsed = time.time() - started_ms / 1000
    assert CLIENT - 0.5 <= elapsed <= CLIENT + 4, elapsed
    expect(page.locator("h1")).to_have_text("For your security, we signed you out")
    # Signed out, so the timed-out page itself runs no countdown.
    assert page.evaluate("() => document.body.dataset.timeoutSeconds") is None
    screenshot(page, "timed-out")

    # The sign-out found the session still live, ended it and recorded it as expired.
    assert AuditEntry.objects.filter(event=Event.SESSION_EXPIRED, actor=caseworker, reason="idle timeout").exists()
    assert not AuditEntry.objects.filter(event=Event.SIGN_OUT, actor=caseworker).exists()
    _assert_signed_out(page, live_server, key)
    _assert_clean(console)


def test_sign_out_button_in_the_warning_signs_out(
    csp_page, console, live_server, caseworker, short_session
):
    page = csp_page
    dialog = _sign_in_and_wait_for_warning(page, live_server, caseworker)
    key = _session_key(page)

    # A POST with the CSRF token (never a GET link), recorded as a sign-out.
    with page.expect_navigation():
        dialog.get_by_role("button", name="Sign out").click()
    assert page.url == live_server.url + reverse("accounts:signed-out"), page.url
    expect(page.locator("h1")).to_have_text("You have signed out")
    assert AuditEntry.objects.filter(event=Event.SIGN_OUT, actor=caseworker).exists()

    _assert_signed_out(page, live_server, key)
    _assert_clean(console)
