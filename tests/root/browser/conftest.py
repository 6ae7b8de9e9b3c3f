"""Browser tests: Debian's chromium driven by Playwright's sync API against pytest-django's
live_server.

Every test here is marked `browser`; without chromium it is skipped (or fails under CI=true),
like the other service markers in tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def playwright_instance():
    """Playwright, for one module of browser tests at a time (see below for why not longer).

    Playwright's sync API runs an asyncio event loop in this thread (inside a greenlet), and
    that loop counts as running from start() to stop(). Django's async-safety check would
    then refuse every ORM call made here (fixtures, pytest-django's flush), so
    DJANGO_ALLOW_ASYNC_UNSAFE=true is set: the documented workaround. The live server runs in
    its own thread and is not affected.

    Both the variable and the loop live exactly as long as this fixture. Set for the whole
    session, the variable leaked into every later test: it turned off the async-safety check
    for them, and subprocesses inherited it (tests/root/test_modes.py's
    `check --deploy` then fails with async.E001).
    """
    # Higher-scoped fixtures are set up before tests/conftest.py's function-scoped autouse
    # marker check, so this repeats its rule: skip without chromium, fail under CI.
    if not _chromium():
        reason = "needs Debian's chromium package (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI needs this service: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.fixture(scope="module")
def browser(playwright_instance):
    b = playwright_instance.chromium.launch(
        executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield b
    finally:
        b.close()


def _new_context(browser, *, bypass_csp: bool):
    context = browser.new_context(
        bypass_csp=bypass_csp,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def context(browser):
    """A context for accessibility checks. bypass_csp=True because the app's CSP is
    script-src 'self': page.add_script_tag(path=...) inlines axe.min.js into a <script>
    element, which that policy would block. Only the axe injection needs this; the CSP
    itself is tested in a context that enforces it (`csp_context`)."""
    ctx = _new_context(browser, bypass_csp=True)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def csp_context(browser):
    """A context that enforces the app's Content-Security-Policy, as a real browser does."""
    ctx = _new_context(browser, bypass_csp=False)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def csp_page(csp_context):
    return csp_context.new_page()


@pytest.fixture
def page_for(browser):
    """A factory of pages, each in a context of its own (cookies apart): one per person in a
    journey, each signing in separately. Like `context`, the contexts bypass the CSP for axe."""
    made = []

    def new_page():
        ctx = _new_context(browser, bypass_csp=True)
        made.append(ctx)
        return ctx.new_page()

    try:
        yield new_page
    finally:
        for ctx in made:
            ctx.close()
