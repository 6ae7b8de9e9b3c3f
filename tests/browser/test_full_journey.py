"""The whole portal as its users meet it, in one journey through real chromium against the live
server: from a caseworker's upload to the DPO's access pack. Every page the journey visits is
checked by axe-core (WCAG 2.2 A/AA) and saved as a screenshot under test-artifacts/screenshots/
(journey-NN-*.png, in the order of the steps).

Setup that is not part of the journey is made through the real actions in the fixture (the
programme's confirmed agreement) or between steps (the caseworker's decisions about the other
women the rules propose, so that the scoping release is large enough for rows to survive the
k-anonymity check). Everything is synthetic.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from eligibility.models import Decision, Extract, ExtractStatus
from sharing.demo_delivery import seed_agreement
from sharing.models_delivery import CaseloadAssignment, ReleasedWoman, SafeguardingConcern
from tests.browser.helpers import check_axe, sign_in
from tests.browser.journey_world import (
    decide_the_rest,
    queued_tasks,
    real_worker,
    sqlite_shared_cache,
    synthetic_extract,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHILDREN, SEED = 400, 7  # ~150 mothers in the extract, enough proposed eligible for k >= 5 rows


class Journey:
    """The steps' shared state: the live server, a page per person, and numbered screenshots."""

    def __init__(self, live_server, page_for):
        self.url = live_server.url
        self.live_server = live_server
        self._page_for = page_for
        self.pages: dict[int, object] = {}
        self.step = 0

    def page_of(self, person):
        if person.pk not in self.pages:
            page = self._page_for()
            sign_in(page, self.live_server, person)
            self.pages[person.pk] = page
        return self.pages[person.pk]

    def check(self, page, name: str) -> None:
        self.step += 1
        check_axe(page, f"journey-{self.step:02d}-{name}")


@pytest.fixture
def agreed(programme, trust_lead, caldicott, settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    seed_agreement(programme, lead=trust_lead, caldicott=caldicott, today=timezone.localdate())
    return programme


def test_from_upload_to_the_dpo_access_pack(live_server, page_for, tmp_path, agreed, caseworker, trust_lead,
                                             caldicott, pause_lead, practitioner, dpo):
    programme = agreed
    j = Journey(live_server, page_for)

    # 1. The caseworker signs in with her password and a security code.
    cw = j.page_of(caseworker)
    expect(cw.locator("h1")).to_have_text("Trust caseworker")
    j.check(cw, "caseworker-dashboard")

    # 2. She uploads an extract; it waits for the worker, with its progress bar.
    files = synthetic_extract(tmp_path / "extract", children=CHILDREN, seed=SEED)
    with queued_tasks():
        cw.get_by_role("link", name="Upload a case extract").click()
        j.check(cw, "upload")
        cw.locator("#files").set_input_files(files)
        cw.get_by_role("button", name="Upload and check").click()
        expect(cw.locator("#progress-bar")).to_be_visible()
        expect(cw.locator("#progress-bar")).to_have_attribute("value", "0")
        j.check(cw, "progress-waiting")
        # 3. A real worker imports it and runs the rules; the page follows and shows the summary.
        if sqlite_shared_cache():
            cw.route("**/progress/", lambda route: route.abort())
        with real_worker(until_task="eligibility.recompute") as wait:
            wait(cw)
        cw.unroute("**/progress/")
        expect(cw.locator("h1")).to_have_text("Extract imported", timeout=15_000)
    assert Extract.objects.get().status == ExtractStatus.SUCCEEDED
    j.check(cw, "extract-imported")

    # 4. She reviews a woman the rules propose and flags her eligible, with a reason.
    cw.goto(j.url + reverse("dashboard"))
    cw.get_by_role("link", name="Decision queue: women proposed by the rules").click()
    expect(cw.locator("h1")).to_have_text("Decision queue")
    j.check(cw, "queue")
    cw.locator("main table tbody a").first.click()
    j.check(cw, "proposal")
    cw.get_by_label("Eligible", exact=True).check()
    cw.get_by_label("Reason for your decision").fill("Two care orders confirmed in the case system")
    cw.get_by_role("button", name="Record the decision").click()
    expect(cw.locator(".govuk-notification-banner")).to_contain_text("Decision recorded: eligible")
    j.check(cw, "decided")
    flagged = Decision.objects.get().woman
    assert decide_the_rest(programme, by=caseworker) >= 20

    # 5. A Trust lead releases the decided women for scoping; rows survive the k-anonymity check.
    lead = j.page_of(trust_lead)
    lead.get_by_role("link", name="Release women to Pause for scoping").click()
    expect(lead.locator("h1")).to_have_text("Scoping release")
    expect(lead.locator(f"#woman-{flagged.pk}")).to_be_checked()
    j.check(lead, "scoping-release")
    lead.get_by_role("button", name="Release to Pause").click()
    banner = lead.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("women released to Pause")
    served = int(re.search(r"serves (\d+) of (\d+) rows", banner.inner_text()).group(1))
    assert served > 0
    j.check(lead, "scoping-released")

    # 6. The Pause lead sees the released rows (tokens and generalised values only).
    pl = j.page_of(pause_lead)
    pl.get_by_role("link", name="Released rows").click()
    expect(pl.locator("h1")).to_have_text("Scoping release rows")
    assert pl.locator("#women tbody tr").count() == served
    j.check(pl, "scoping-rows")

    # 7. She writes the final report from the aggregate tables and submits it.
    pl.goto(j.url + reverse("dashboard"))
    pl.get_by_role("link", name="Final scoping report").click()
    expect(pl.locator("h1")).to_have_text("Final scoping report")
    j.check(pl, "report-write")
    pl.get_by_label("Title").fill("Scoping findings: repeat removals in the test programme")
    pl.get_by_label("Findings").fill("Most women released had two or three children removed, over ten years.")
    pl.get_by_label("Women by number of children removed and age band").check()
    pl.get_by_role("button", name="Save the draft").click()
    expect(pl.locator(".govuk-notification-banner")).to_contain_text("Draft saved")
    j.check(pl, "report-draft")
    pl.get_by_role("button", name="Submit for approval").click()
    expect(pl.locator(".govuk-notification-banner")).to_contain_text("Report submitted")
    j.check(pl, "report-submitted")

    # 8. A Trust lead approves it.
    lead.goto(j.url + reverse("dashboard"))
    lead.get_by_role("link", name="Final scoping report").click()
    j.check(lead, "report-to-approve")
    lead.get_by_role("button", name="Approve the report").click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Report approved")
    j.check(lead, "report-approved")

    # 9. The programme moves to delivery: the Trust lead proposes, the Caldicott Guardian confirms.
    lead.goto(j.url + reverse("dashboard"))
    lead.get_by_role("link", name=re.compile("^Programme phase")).click()
    expect(lead.locator("h1")).to_have_text("Phase: scoping")
    j.check(lead, "phase")
    lead.get_by_label("Why the programme should move on").fill("Scoping is done and the final report is approved")
    lead.get_by_role("button", name="Propose moving to delivery").click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Moving to delivery proposed")
    j.check(lead, "phase-proposed")
    guardian = j.page_of(caldicott)
    guardian.get_by_role("link", name=re.compile("^Programme phase")).click()
    j.check(guardian, "phase-to-confirm")
    guardian.get_by_label("Confirm").check()
    guardian.get_by_role("button", name="Record the decision").click()
    expect(guardian.locator("h1")).to_have_text("Phase: delivery")
    j.check(guardian, "phase-delivery")

    # 10. A Trust lead releases the flagged woman for delivery, with an address to contact her at.
    lead.goto(j.url + reverse("dashboard"))
    lead.get_by_role("link", name="Release women to Pause for delivery").click()
    expect(lead.locator("h1")).to_have_text("Delivery release")
    j.check(lead, "delivery-release")
    lead.locator(f"#woman-{flagged.pk}").check()
    lead.locator(f"[name=address_{flagged.pk}]").fill("14 Invented Row, Synthetic Town")
    lead.get_by_role("button", name="Release to Pause").click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("1 woman released to Pause for delivery")
    j.check(lead, "delivery-released")
    released = ReleasedWoman.objects.get(woman=flagged)

    # 11. The Pause lead assigns her to the practitioner.
    pl.goto(j.url + reverse("dashboard"))
    pl.get_by_role("link", name="Released women: target group and caseloads").click()
    expect(pl.locator("h1")).to_have_text("Released women")
    j.check(pl, "released-women")
    pl.locator(f"#assign-{released.pk}-practitioner").select_option(str(practitioner.pk))
    pl.locator(f"#released-{released.pk} button").click()
    expect(pl.locator(".govuk-notification-banner")).to_be_visible()
    j.check(pl, "assigned")
    assert CaseloadAssignment.objects.filter(released_woman=released, practitioner=practitioner,
                                             ended_at__isnull=True).exists()

    # 12. The practitioner finds her in her caseload, records contact and raises a safeguarding concern.
    pr = j.page_of(practitioner)
    pr.get_by_role("link", name="My caseload").click()
    j.check(pr, "caseload")
    pr.locator(f"a[href='{reverse('delivery:woman', args=[released.pk])}']").first.click()
    j.check(pr, "woman")
    pr.goto(j.url + reverse("casework:contact", args=[released.pk]))
    j.check(pr, "contact-form")
    today = timezone.localdate()
    pr.get_by_label("Day").fill(str(today.day))
    pr.get_by_label("Month").fill(str(today.month))
    pr.get_by_label("Year").fill(str(today.year))
    pr.get_by_label("Phone call").check()
    pr.get_by_label("She agreed to take part").check()
    pr.locator("input[name=privacy_information_given][value=yes]").check()
    pr.get_by_label("Note (optional)").fill("Agreed to meet at the family centre next week")
    pr.get_by_role("button", name="Record the attempt").click()
    expect(pr.locator(".govuk-notification-banner")).to_be_visible()
    j.check(pr, "contact-recorded")
    pr.goto(j.url + reverse("casework:raise", args=[released.pk]))
    j.check(pr, "concern-form")
    pr.get_by_label("Safeguarding concern").check()
    pr.locator("input[name=lawful_basis][value=sch1_p2_18]").check()
    pr.get_by_label("What happened, and what you know").fill("A synthetic concern raised in the journey test")
    pr.get_by_role("button", name="Raise it with the Trust").click()
    expect(pr.locator(".govuk-notification-banner")).to_be_visible()
    j.check(pr, "concern-raised")
    assert SafeguardingConcern.objects.filter(released_woman=released).count() == 1
