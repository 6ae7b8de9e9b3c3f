"""A batch decision in a real browser (issue 24, point 2): a caseworker chooses women in the queue,
is refused a mixed batch, gives one decision and reason, checks each woman with her own tick,
is stopped by the one she left unticked, and confirms; then walks the queue from woman to woman
and downloads it as CSV. Each page is checked by axe."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.core.models import AuditEntry, Event
from eligibility.models import Decision
from eligibility.recompute import recompute
from tests import factories as f
from tests.eligibility.casebook import Casebook
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Checked each woman's orders in the case management system"


def a_woman(book, pid, forename, surname, removed, *, born=date(1990, 5, 1)):
    w = f.WomanFactory(programme=book.programme, first_extract=book.extract, trust_person_id=pid, forename=forename,
                       surname=surname, date_of_birth=born)
    today = timezone.localdate()
    book.removed(w, *(today - timedelta(days=d) for d in (900, 500, 200)[:removed]))
    return w


def test_a_batch_decision(page, live_server, programme, caseworker):
    book = Casebook(programme, caseworker)
    ada = a_woman(book, "P-ADA", "Ada", "Lovelace", 2)
    bea = a_woman(book, "P-BEA", "Bea", "Brown", 3)
    cat = a_woman(book, "P-CAT", "Cat", "Jones", 2)
    a_woman(book, "P-REV", "Rae", "Review", 2, born=None)  # no date of birth: needs review
    recompute(programme, by=caseworker)
    sign_in(page, live_server, caseworker)
    page.get_by_role("link", name="Decision queue: women proposed by the rules").click()
    expect(page.locator("h1")).to_have_text("Decision queue")
    check_axe(page, "batch-queue")

    # a mixed batch is refused on the queue, the ticks kept
    for name in ("Ada Lovelace", "Rae Review"):
        page.get_by_label(f"Choose {name}").check()
    page.get_by_role("button", name="Decide about the chosen women").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose women with the same proposal")
    expect(page.get_by_label("Choose Ada Lovelace")).to_be_checked()
    check_axe(page, "batch-queue-mixed-error")
    page.get_by_label("Choose Rae Review").uncheck()
    for name in ("Bea Brown", "Cat Jones"):
        page.get_by_label(f"Choose {name}").check()
    page.get_by_role("button", name="Decide about the chosen women").click()

    # one decision and one reason
    expect(page.locator("h1")).to_have_text("Decide about 3 women")
    check_axe(page, "batch-decide")
    page.get_by_role("button", name="Continue to check each woman").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select your decision")
    check_axe(page, "batch-decide-error")
    page.get_by_label("Eligible", exact=True).check()
    page.get_by_label("Reason for your decision").fill(REASON)
    page.get_by_role("button", name="Continue to check each woman").click()

    # check each woman: her evidence and a tick of her own
    expect(page.locator("h1")).to_have_text("Check each woman before you confirm")
    expect(page.locator(".govuk-summary-card")).to_have_count(3)
    check_axe(page, "batch-check")
    page.get_by_label("I have checked Ada Lovelace's evidence and this decision is right for her").check()
    page.get_by_label("I have checked Bea Brown's evidence and this decision is right for her").check()
    page.get_by_role("button", name="Record 3 decisions").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Confirm that you have checked Cat Jones's evidence")
    check_axe(page, "batch-check-error")
    assert not Decision.objects.exists()
    summary.get_by_role("link", name="Confirm that you have checked Cat Jones's evidence", exact=False).click()
    cat_tick = page.get_by_label("I have checked Cat Jones's evidence and this decision is right for her")
    expect(cat_tick).to_be_focused()
    cat_tick.check()
    page.get_by_role("button", name="Record 3 decisions").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text("3 decisions recorded: eligible")
    check_axe(page, "batch-recorded")
    decisions = Decision.objects.order_by("woman_id")
    assert [d.woman_id for d in decisions] == sorted(w.pk for w in (ada, bea, cat))
    assert {d.decided_by_id for d in decisions} == {caseworker.pk}

    # from woman to woman in the queue's order, then the queue as CSV
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.locator("h1")).to_have_text("Ada Lovelace")
    check_axe(page, "batch-woman-with-neighbours")
    page.get_by_role("link", name="Next woman").click()
    expect(page.locator("h1")).to_have_text("Bea Brown")  # the same proposal, then by record
    page.get_by_role("link", name="Next woman").click()
    expect(page.locator("h1")).to_have_text("Cat Jones")
    page.get_by_role("link", name="Previous woman").click()
    expect(page.locator("h1")).to_have_text("Bea Brown")
    page.get_by_role("link", name="Back to the decision queue").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download these 4 women as a spreadsheet (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Reference,Name,Date of birth,Proposal,Decision,Last removal"
    assert "P-ADA,Ada Lovelace,1 May 1990,Eligible,Eligible," in text
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=caseworker,
                                      reason="decision queue export (CSV)").get()
    assert entry.subjects.count() == 4
