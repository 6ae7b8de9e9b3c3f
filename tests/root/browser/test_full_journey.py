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

import os
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from audit.core.models_rights import RightsRequest
from audit.oversight import access_pack, pack_plain
from eligibility.models import Decision, Extract, ExtractStatus, Woman
from pseudonymisation.fields import Protector
from sharing.demo_delivery import seed_agreement
from sharing.models_delivery import CaseloadAssignment, ReleasedWoman, SafeguardingConcern
from sharing.models_scoping import ScopingWomanRow
from tests import factories as f
from tests.eligibility.extracts import Ssd
from tests.root.browser.helpers import REPO_ROOT, check_axe, mfa_step, sign_in
from tests.root.browser.journey_world import (
    decide_the_rest,
    journey_entries_about,
    queued_tasks,
    readme_world,
    real_worker,
    sqlite_shared_cache,
    synthetic_extract,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHILDREN, SEED = 400, 7  # ~150 mothers in the extract, enough proposed eligible for k >= 5 rows


class Journey:
    """The steps' shared state: the live server, a page per person (signed in through the real
    forms), numbered screenshots, and every page each person's browser loaded, so that the test
    can prove axe checked them all."""

    def __init__(self, live_server, page_for):
        self.url = live_server.url
        self.live_server = live_server
        self._page_for = page_for
        self.pages: dict[int, object] = {}
        self.step = 0
        self.visited: set[tuple[int, str]] = set()
        self.checked: set[tuple[int, str]] = set()

    def page_of(self, person, who: str):
        """`person`'s page, signed in through the real forms the first time (each form checked)."""
        if person.pk not in self.pages:
            page = self._page_for()
            page.on("framenavigated", lambda frame: self._visit(person, page, frame))
            self.pages[person.pk] = page
            page.goto(self.url + reverse("accounts:sign-in"))
            self.check(page, f"{who}-sign-in")
            page.fill("#id_username", person.email)
            page.fill("#id_password", f.PASSWORD)
            with page.expect_navigation():
                page.click("main button[type=submit]")
            assert page.url == self.url + reverse("accounts:mfa-verify"), page.url
            self.check(page, f"{who}-security-code")
            mfa_step(page, person)
            assert page.url == self.url + reverse("dashboard"), page.url
            self.check(page, f"{who}-dashboard")
        return self.pages[person.pk]

    def _visit(self, person, page, frame) -> None:
        if frame == page.main_frame:
            self.visited.add((person.pk, urlsplit(frame.url).path))

    def check(self, page, name: str) -> None:
        self.step += 1
        check_axe(page, f"journey-{self.step:02d}-{name}")
        owner = next(pk for pk, p in self.pages.items() if p is page)
        self.checked.add((owner, urlsplit(page.url).path))

    def unchecked(self) -> set[tuple[int, str]]:
        """Pages someone's browser loaded that axe never checked for that person."""
        return self.visited - self.checked


@pytest.fixture
def agreed(programme, trust_lead, caldicott, pause_lead, settings, tmp_path):  # the Pause lead publishes her notice
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    seed_agreement(programme, lead=trust_lead, caldicott=caldicott, today=timezone.localdate())
    return programme


def test_from_upload_to_the_dpo_access_pack(live_server, page_for, tmp_path, agreed, caseworker, trust_lead,
                                             caldicott, pause_lead, practitioner, dpo):
    programme = agreed
    j = Journey(live_server, page_for)

    # 1. The caseworker signs in with her password and a security code.
    cw = j.page_of(caseworker, "caseworker")
    expect(cw.locator("h1")).to_have_text("Trust caseworker")

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
        # 3. A real worker checks it; the page follows and shows what the import will change.
        if sqlite_shared_cache():
            cw.route("**/progress/", lambda route: route.abort())
        with real_worker(until_task="eligibility.run_import") as wait:
            wait(cw)
        cw.unroute("**/progress/")
        if sqlite_shared_cache():
            cw.reload()
        expect(cw.locator("h1")).to_have_text("Check what the import will change", timeout=15_000)
        j.check(cw, "extract-checked")
        # She confirms; the worker imports it and runs the rules; the page shows the summary.
        cw.get_by_role("button", name="Confirm and import").click()
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
    lead = j.page_of(trust_lead, "trust-lead")
    lead.get_by_role("link", name="Release women to Pause for scoping").click()
    expect(lead.locator("h1")).to_have_text("Scoping release")
    expect(lead.locator(f"#woman-{flagged.pk}")).not_to_be_checked()  # nobody is chosen for her
    j.check(lead, "scoping-release")
    lead.get_by_role("button", name="Continue with the women ticked").click()
    expect(lead.locator(".govuk-error-summary")).to_contain_text("Choose at least one woman to release")
    j.check(lead, "scoping-release-nobody")
    lead.get_by_role("button", name="Select all that can be released").click()
    expect(lead.locator("h1")).to_have_text("Check before you release to Pause")
    assert not ScopingWomanRow.objects.exists()  # the check page writes nothing
    j.check(lead, "scoping-release-check")
    lead.get_by_role("button", name="Confirm and release to Pause").click()
    banner = lead.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("women released to Pause")
    served = int(re.search(r"serves (\d+) of (\d+) rows", banner.inner_text()).group(1))
    assert served > 0
    j.check(lead, "scoping-released")

    # 6. The Pause lead sees the released rows (tokens and generalised values only).
    pl = j.page_of(pause_lead, "pause-lead")
    pl.get_by_role("link", name="Released rows").click()
    expect(pl.locator("h1")).to_have_text("Scoping release rows")
    assert pl.locator("#women tbody tr").count() == served
    j.check(pl, "scoping-rows")
    her_row_served = not ScopingWomanRow.objects.get(woman=flagged).withheld

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
    lead.get_by_label(re.compile("^Delivery: work with Pause")).check()
    lead.get_by_role("button", name="Propose the move").click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Moving to delivery proposed")
    j.check(lead, "phase-proposed")
    guardian = j.page_of(caldicott, "caldicott")
    guardian.get_by_role("link", name=re.compile("^Programme phase")).click()
    j.check(guardian, "phase-to-confirm")
    guardian.get_by_label("Confirm").check()
    guardian.get_by_label("Your justification").fill("The final report is approved and the Trust is ready")
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
    pr = j.page_of(practitioner, "practitioner")
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
    pr.locator("input[name=notices_given][value=pause]").check()
    pr.get_by_label("Note (optional)").fill("Agreed to meet at the family centre next week")
    pr.get_by_role("button", name="Record the attempt").click()
    expect(pr.locator(".govuk-notification-banner")).to_be_visible()
    j.check(pr, "contact-recorded")
    pr.goto(j.url + reverse("casework:raise", args=[released.pk]))
    j.check(pr, "concern-form")
    pr.get_by_label("Safeguarding concern").check()
    pr.locator("input[name=pause_article_9][value=art9_2_g]").check()  # Pause's bases start as the agreement's
    pr.get_by_label("What happened, and what you know").fill("A synthetic concern raised in the journey test")
    pr.get_by_role("button", name="Raise it with the Trust").click()
    expect(pr.locator(".govuk-notification-banner")).to_be_visible()
    j.check(pr, "concern-raised")
    assert SafeguardingConcern.objects.filter(released_woman=released).count() == 1

    # 13. The DPO opens her access request (found by her Trust person ID) and reads her access pack:
    # every entry the journey wrote about her is in its access log — the Pause lead's view of the
    # scoping rows too: the end of scoping deleted her scoping row with its key, but the entry also
    # names the Trust's reference of the woman it was made from (sharing.disclosure).
    expected = journey_entries_about(released, actors=[caseworker, trust_lead, pause_lead, practitioner])
    if her_row_served:
        assert reverse("scoping:rows") in {e.page for e in expected}
    assert {e.actor_id for e in expected} == {caseworker.pk, trust_lead.pk, pause_lead.pk, practitioner.pk}
    assert {reverse("eligibility:queue"), reverse("eligibility:woman", args=[flagged.pk]), reverse("scoping:release"),
            reverse("delivery:release"), reverse("delivery:women"), reverse("delivery:caseload"),
            reverse("casework:contact", args=[released.pk]),
            reverse("casework:raise", args=[released.pk])} <= {e.page for e in expected}
    person_id = flagged.reveal(Protector.load(programme.pk, Woman.key_phase), "trust_person_id")
    d = j.page_of(dpo, "dpo")
    d.get_by_role("link", name="Open a rights request").click()
    expect(d.locator("h1")).to_have_text("Open a rights request")
    j.check(d, "rights-open")
    d.get_by_label("Access (a copy of her information, Art. 15)").check()
    d.get_by_label("Trust person ID", exact=True).check()
    d.get_by_label("Trust person ID or NHS number").fill(person_id)
    d.get_by_label("Day").fill(str(today.day))
    d.get_by_label("Month").fill(str(today.month))
    d.get_by_label("Year").fill(str(today.year))
    d.get_by_label("By letter").check()
    d.get_by_label("Original documents seen in person").check()
    d.get_by_label("Passport").check()
    d.get_by_label(f"{dpo.full_name} (Data protection officer)").check()
    d.get_by_label("Anything else about the check (optional)").fill("Seen by the DPO at the Trust's office")
    d.get_by_role("button", name="Open the request").click()
    expect(d.locator(".govuk-notification-banner")).to_contain_text("opened")
    j.check(d, "rights-request")
    d.get_by_role("link", name="Prepare her access pack").click()
    expect(d.locator("h1")).to_have_text("Her access pack")
    rr = RightsRequest.objects.get(woman=flagged)
    j.check(d, "access-pack")
    log = d.locator("table", has=d.locator("caption", has_text="Who saw or changed her records"))
    shown = Counter(tuple(row.locator("td").all_inner_texts()[i].strip() for i in (0, 2, 3))
                    for row in log.locator("tbody tr").all())
    wanted = Counter((access_pack.text(e.timestamp), pack_plain.what_was_done(e), pack_plain.which_record(e))
                     for e in expected)
    missing = wanted - shown
    assert not missing, f"entries about her not in her access pack: {missing}"

    # axe checked every page each person's browser loaded.
    assert {(caseworker.pk, reverse("eligibility:queue")), (dpo.pk, reverse("rights:pack", args=[rr.pk]))} <= j.visited
    assert not j.unchecked(), f"pages the journey visited that axe did not check: {sorted(j.unchecked())}"


# --- the upload and decision forms by keyboard alone ------------------------------------------
def _focused(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '', text: (el.textContent || '').trim()};
    }""")


def _tab_until(page, matches, what: str, limit: int = 40) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if matches(focused):
            return focused
    raise AssertionError(f"{what} was not reached within {limit} presses of Tab")


def test_the_upload_and_decision_forms_by_keyboard_alone(page, live_server, caseworker, tmp_path, settings):
    """Tab, Space, Enter and typing only: the file input opens its chooser with Space (the
    operating system's dialog is the one thing answered for the browser), the radios are chosen
    with Space, the reason typed, each form submitted with Enter."""
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    files = []
    for name, data in Ssd().named():
        (tmp_path / name).write_bytes(data)
        files.append(str(tmp_path / name))
    sign_in(page, live_server, caseworker)
    page.goto(live_server.url + reverse("eligibility:upload"))
    _tab_until(page, lambda f: f["id"] == "files", "the file input")
    # Playwright subscribes to file choosers without waiting for the browser: subscribe first and
    # make a round trip, so the chooser that Space opens is never missed.
    page.on("filechooser", lambda _chooser: None)
    page.evaluate("() => document.activeElement.id")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(files)
    _tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Upload and check", "the upload button")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the test settings' eager task checks during the request
    expect(page.locator("h1")).to_have_text("Check what the import will change")
    _tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Confirm and import", "the confirm button")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # and imports during this one
    expect(page.locator("h1")).to_have_text("Extract imported")
    check_axe(page, "keyboard-extract-imported")

    woman = Woman.objects.get()
    page.goto(live_server.url + reverse("eligibility:woman", args=[woman.pk]))
    first = _tab_until(page, lambda f: f["type"] == "radio", "the decision's radios")
    assert first["id"] == "id_outcome_0", first  # the group's first choice: Eligible
    page.keyboard.press("Space")
    assert _tab_until(page, lambda f: True, "the next field")["id"] == "id_reason"
    page.keyboard.type("Both care orders are confirmed in the case system")
    _tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Record the decision", "the decision button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Decision recorded: eligible")
    check_axe(page, "keyboard-decided")
    expect(page.locator("main")).to_contain_text("Both care orders are confirmed in the case system")
    assert Decision.objects.get(woman=woman).outcome == "eligible"  # its reason is stored encrypted


# --- the README's screenshots ---------------------------------------------------------------------
README_PAGES = [  # (who, the page, its heading, the file under docs/screenshots/)
    ("caseworker", "eligibility:queue", "Decision queue", "caseworker-decision-queue"),
    ("trust_lead", "casework:concerns", None, "trust-lead-concerns"),
    ("caldicott", "governance:agreement", None, "caldicott-guardian-agreement"),
    ("dpo", "dpo:home", None, "dpo-access-review"),
    ("pause_lead", "delivery:women", "Released women", "pause-lead-released-women"),
    ("practitioner", "delivery:caseload", None, "practitioner-caseload"),
    ("system_admin", "people:list", None, "system-admin-people"),
]


@pytest.mark.skipif(not os.environ.get("PORTAL_README_SCREENSHOTS"),
                    reason="writes docs/screenshots/: set PORTAL_README_SCREENSHOTS=1 to refresh them")
def test_readme_screenshots(page_for, live_server):
    """Each role's main page in the demo's delivery programme, checked by axe and saved (the
    visible window only) as docs/screenshots/<name>.png for the README."""
    people = readme_world()
    out = REPO_ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for who, url_name, heading, name in README_PAGES:
        page = page_for()
        page.set_viewport_size({"width": 1280, "height": 1400})
        sign_in(page, live_server, people[who])
        page.goto(live_server.url + reverse(url_name))
        if heading:
            expect(page.locator("h1")).to_have_text(heading)
        check_axe(page, f"readme-{name}")
        page.screenshot(path=str(out / f"{name}.png"))
