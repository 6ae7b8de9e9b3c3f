"""Helpers for the browser tests: axe-core checks, screenshots, and the real sign-in forms."""

from __future__ import annotations

import time
from pathlib import Path

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories as f
from tests.totp import code_for

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} [{v.get('impact')}]: {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", []):
            target = " ".join(
                t if isinstance(t, str) else " >>> ".join(t) for t in node.get("target", [])
            )
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_axe(page, name: str) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) on the current page, save a
    full-page screenshot as test-artifacts/screenshots/<name>.png, and fail with a readable
    list of any violations. Needs a bypass_csp context (see the `context` fixture)."""
    page.wait_for_load_state("load")
    screenshot(page, name)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return {violations: r.violations, passes: r.passes.length};
        }""",
        AXE_TAGS,
    )
    assert result["passes"] > 0, f"axe ran no checks on {name} ({page.url})"
    violations = result["violations"]
    assert not violations, (
        f"axe found {len(violations)} accessibility violation(s) on {name} ({page.url}):\n"
        + _format_violations(violations)
    )
    check_unique_ids(page, name)


def check_unique_ids(page, name: str) -> None:
    """No two elements share an id. axe no longer checks this for WCAG 2.2 (4.1.1 is obsolete),
    but a label's `for` and an error summary's link reach only the first element with an id: a
    second one loses its label (a final report's first checkbox did, through a wrapper's id)."""
    duplicated = page.evaluate(
        """() => {
            const seen = {};
            for (const el of document.querySelectorAll('[id]')) seen[el.id] = (seen[el.id] || 0) + 1;
            return Object.keys(seen).filter((id) => seen[id] > 1);
        }"""
    )
    assert not duplicated, f"ids used more than once on {name} ({page.url}): {duplicated}"


def device_of(person) -> TOTPDevice:
    return TOTPDevice.objects.get(user=person, confirmed=True)


def wrong_code_for(device) -> str:
    """A 6-digit code that is not valid now, nor within two steps either side."""
    now = time.time()
    valid = {code_for(device, at=now + d * device.step) for d in (-2, -1, 0, 1, 2)}
    for n in range(1_000_000):
        candidate = f"{(123456 + n * 7919) % 1_000_000:06d}"
        if candidate not in valid:
            return candidate
    raise AssertionError("unreachable")


def password_step(page, live_server, person, password: str = f.PASSWORD) -> None:
    """Fill and submit the real sign-in form."""
    page.goto(live_server.url + reverse("accounts:sign-in"))
    page.fill("#id_username", person.email)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def mfa_step(page, person, code: str | None = None) -> None:
    """Fill and submit the real security-code form with the device's current code."""
    page.fill("#id_otp_token", code or code_for(device_of(person)))
    with page.expect_navigation():
        page.click("main form button[type=submit] >> text=Continue")


def sign_in(page, live_server, person) -> None:
    password_step(page, live_server, person)
    assert page.url == live_server.url + reverse("accounts:mfa-verify"), page.url
    mfa_step(page, person)
    assert page.url == live_server.url + reverse("dashboard"), page.url
