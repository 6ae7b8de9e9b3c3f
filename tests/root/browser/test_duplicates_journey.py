"""Possible duplicates in a real browser with the CSP enforced: the list, the two records side
by side, the error summary, and the decision — each page checked by axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eligibility.models import DuplicateProposal, DuplicateStatus
from tests.eligibility.test_duplicates import an_open_proposal
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compare_two_records_and_reject_by_keyboard(page, live_server, programme, caseworker):
    proposal = an_open_proposal(programme, caseworker)
    sign_in(page, live_server, caseworker)
    page.get_by_role("link", name="Possible duplicate records").click()
    expect(page.locator("h1")).to_have_text("Possible duplicate records")
    check_axe(page, "duplicates")
    page.get_by_role("link", name=f"Possible duplicate {proposal.pk}").click()
    expect(page.locator("h1")).to_have_text("Compare the two records")
    expect(page.locator("table")).to_contain_text("943 476 5919")
    check_axe(page, "duplicate")
    page.get_by_role("button", name="Record the decision").click()
    expect(page).to_have_title(f"Error: Possible duplicate {proposal.pk} – Pause data-sharing portal")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select whether these two records are the same woman")
    check_axe(page, "duplicate-error")
    page.get_by_label("No, they are different women").check()
    page.get_by_label("Reason for your decision").fill("Different dates of birth in the case system")
    page.get_by_label("Reason for your decision").press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Rejected: different women")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("different women")
    check_axe(page, "duplicate-decided")
    assert DuplicateProposal.objects.get().status == DuplicateStatus.REJECTED
