"""A Trust lead hands a closed concern over to the Trust's case record in a real browser: the
concerns list offers the download and the confirmation, axe checks each page, and the concern
is marked as filed only after the confirmation. All data is synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from sharing.concerns import close_concern, raise_concern
from sharing.models_delivery import SafeguardingConcern
from tests.root.browser.helpers import check_axe, sign_in
from tests.sharing.delivery.world import delivery_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trust_lead_downloads_and_files_a_closed_concern(page, live_server):
    world = delivery_world(women=1)
    concern = raise_concern(world.released[0], by=world.pause_lead, kind="safeguarding",
                            summary="Synthetic: BROWSER-SUMMARY-2208")
    close_concern(concern, by=world.trust_lead, closing_note="Synthetic: handed to the Trust's team")
    sign_in(page, live_server, world.trust_lead)
    page.goto(live_server.url + reverse("casework:concerns"))
    table = page.locator("#awaiting-hand-over")
    expect(table).to_be_visible()
    check_axe(page, "concerns-awaiting-hand-over")
    with page.expect_download() as download:
        table.get_by_role("link", name="Download").click()
    assert "BROWSER-SUMMARY-2208" in Path(download.value.path()).read_text(encoding="utf-8")
    table.get_by_role("link", name="Mark as filed in the Trust's case record").click()
    expect(page.locator("h1")).to_have_text("Mark as filed in the Trust's case record")
    check_axe(page, "concern-mark-filed")
    assert SafeguardingConcern.objects.get(pk=concern.pk).filed_at is None
    page.get_by_role("button", name="Yes, it is filed in the Trust's case record").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("marked as filed in the Trust's case record")
    expect(page.locator("#none-awaiting-hand-over")).to_be_visible()
    check_axe(page, "concerns-none-awaiting")
    assert SafeguardingConcern.objects.get(pk=concern.pk).filed_by == world.trust_lead
