"""The decision queue and the rule set in a real browser with the CSP enforced: the queue, a
woman's page, the error summary and the decision; the rules and their edit form — each page
checked by axe."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from eligibility.models import Decision
from eligibility.recompute import recompute
from tests.eligibility.casebook import Casebook
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_decide_from_the_queue(page, live_server, programme, caseworker):
    book = Casebook(programme, caseworker)
    w = book.woman(born=date(1990, 5, 1))
    today = timezone.localdate()
    book.removed(w, today - timedelta(days=900), today - timedelta(days=90))
    recompute(programme, by=caseworker)
    sign_in(page, live_server, caseworker)
    page.get_by_role("link", name="Decision queue: women proposed by the rules").click()
    expect(page.locator("h1")).to_have_text("Decision queue")
    check_axe(page, "eligibility-queue")
    page.get_by_role("link", name="Synthetic").click()
    expect(page.locator("h1")).to_have_text("Synthetic")
    check_axe(page, "eligibility-woman")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select your decision")
    check_axe(page, "eligibility-woman-error")
    page.get_by_label("Eligible", exact=True).check()
    page.get_by_label("Reason for your decision").fill("Both orders confirmed in the case system")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Decision recorded: eligible")
    check_axe(page, "eligibility-woman-decided")
    assert Decision.objects.get().outcome == "eligible"


def test_the_rules_and_their_edit_form(page, live_server, trust_lead):
    sign_in(page, live_server, trust_lead)
    page.get_by_role("link", name="Eligibility rules").click()
    expect(page.locator("h1")).to_have_text("Version 1 (current)")
    check_axe(page, "eligibility-rules")
    page.get_by_role("link", name="Edit the rules (makes version 2)").click()
    expect(page.locator("h1")).to_have_text("Edit the rules")
    check_axe(page, "eligibility-rules-edit")
