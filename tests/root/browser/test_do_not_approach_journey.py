"""In a real browser: a Trust lead sees a woman's do-not-approach marker on the delivery release
page, is stopped with a clear error when she releases her without a reason, and releases her with
one (issue 22, point 5). axe on each page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from playwright.sync_api import expect

from sharing.models_delivery import ReleasedWoman
from sharing.models_markers import DoNotApproachMarker
from sharing.retention import apply_retention
from tests.root.browser.helpers import check_axe, sign_in
from tests.sharing.delivery.test_do_not_approach import ENDED, declined_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKER = "She declined Pause on 12 January 2025: do not approach her again before 12 January 2027."


def test_the_release_page_shows_the_marker_and_asks_for_the_reason(page, live_server):
    world = declined_world()
    woman = world.released[0].woman
    with time_machine.travel(ENDED + timedelta(days=95), tick=False):
        apply_retention(world.programme, dry_run=False, trigger="command")
    assert not ReleasedWoman.objects.exists()

    sign_in(page, live_server, world.trust_lead)
    page.goto(live_server.url + reverse("delivery:release"))
    expect(page.locator(f"#marker-{woman.pk}")).to_contain_text(MARKER)
    check_axe(page, "delivery-release-marker")

    page.check(f"#woman-{woman.pk}")
    page.fill(f"#id_address_{woman.pk}", "1 Made-up Lane")
    with page.expect_navigation():
        page.get_by_role("button", name="Release to Pause").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("say why the Trust has decided to approach her again")
    assert not ReleasedWoman.objects.exists()
    check_axe(page, "delivery-release-marker-error")

    page.fill(f"#id_approach_again_{woman.pk}", "She asked her social worker to be referred to Pause")
    with page.expect_navigation():
        page.get_by_role("button", name="Release to Pause").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("1 woman released to Pause for delivery")
    assert ReleasedWoman.objects.get().woman_id == woman.pk
    assert DoNotApproachMarker.objects.get().set_aside_by_id == world.trust_lead.pk
