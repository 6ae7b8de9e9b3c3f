"""Tables fit the page (issue 24, point 4): at 1024 pixels wide, no list page scrolls sideways and
no table is wider than the column it sits in — the released women, the caseload, the release page,
the concerns list and the people list, each with long synthetic values. Every page axe-checked.
All data is synthetic."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pause_portal.tenancy.roles import Role
from sharing.concerns import raise_concern
from sharing.delivery_release import ToRelease, release_for_delivery
from sharing.models_delivery import ReleasedWoman
from tests import factories as f
from tests.root.browser.helpers import check_axe, sign_in
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 1024
LONG_ADDRESS = ("Flat 12, Synthetic Court, 147 Invented Boulevard Extension, Imaginary Heath, "
                "Fictional-upon-the-Water, Madeupshire")

# How far the page and each table overflow: 0 everywhere when everything fits.
OVERFLOW = """() => {
    const root = document.documentElement;
    const tables = [...document.querySelectorAll('main table')].map((t) => ({
        id: t.id || t.querySelector('caption')?.textContent.trim() || '(table)',
        over: Math.ceil(t.getBoundingClientRect().right - t.parentElement.getBoundingClientRect().right),
        scroll: t.scrollWidth - t.clientWidth,
    }));
    return {page: root.scrollWidth - root.clientWidth, tables: tables.filter((t) => t.over > 0 || t.scroll > 0),
            count: tables.length};
}"""


def overflow(page, name: str) -> list[str]:
    """What does not fit on the page, at WIDTH pixels (nothing when everything fits)."""
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.wait_for_load_state("load")
    measured = page.evaluate(OVERFLOW)
    assert measured["count"] > 0, f"no table on {name}: nothing was measured"
    problems = []
    if measured["page"] > 0:
        problems.append(f"{name} scrolls sideways by {measured['page']}px at {WIDTH}px")
    if measured["tables"]:
        problems.append(f"tables wider than their column on {name}: {measured['tables']}")
    return problems


def test_the_list_pages_fit_a_1024_pixel_window(page_for, live_server):
    world = delivery_world(women=2)
    # A long address, as a real one can be.
    release_for_delivery(world.programme, [ToRelease(world.women(1)[0], LONG_ADDRESS)], by=world.trust_lead,
                         trust_contact=world.trust_lead)
    for released in ReleasedWoman.objects.filter(programme=world.programme):
        world.assign(released)
    raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding", summary="Synthetic concern")
    admin = f.person(world.programme.trust, system_admin=True)
    member(world.programme, Role.TRUST_CASEWORKER)

    pages = [
        (world.pause_lead, "delivery:women", "released-women"),
        (world.practitioners[0], "delivery:caseload", "caseload"),
        (world.trust_lead, "delivery:release", "release"),
        (world.trust_lead, "casework:concerns", "concerns"),
        (admin, "people:list", "people"),
    ]
    problems, signed_in = [], {}
    for person, url, name in pages:
        if person.pk not in signed_in:  # once each: a security code is never accepted twice
            signed_in[person.pk] = page_for()
            sign_in(signed_in[person.pk], live_server, person)
        page = signed_in[person.pk]
        page.goto(live_server.url + reverse(url))
        problems += overflow(page, name)
        check_axe(page, f"fits-{name}")
    assert not problems, "\n".join(problems)


def test_withdrawing_a_release_asks_first_and_cancel_changes_nothing(page, live_server):
    """Issue 24: "Withdraw" was one click. Now a GOV.UK confirmation page names her and says what
    happens; Cancel goes back with nothing changed; confirming withdraws. Both pages axe-checked."""
    world = delivery_world(women=1)
    released = world.released[0]
    sign_in(page, live_server, world.trust_lead)
    page.goto(live_server.url + reverse("delivery:release"))
    page.locator("#released button", has_text="Withdraw").click()
    expect(page.locator("h1")).to_contain_text("Are you sure you want to withdraw the release of")
    check_axe(page, "withdraw-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("h1")).to_have_text("Delivery release")
    released.refresh_from_db()
    assert released.withdrawn_at is None
    page.locator("#released button", has_text="Withdraw").click()
    page.get_by_role("button", name="Withdraw the release").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("withdrawn")
    released.refresh_from_db()
    assert released.withdrawn_at is not None
