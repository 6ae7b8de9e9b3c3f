"""Uploading an extract in a real browser with the CSP enforced: the file-upload form by keyboard
alone, the progress page, what the import will change and its confirmation, the summary and the
next step, the columns page, and a refused extract's errors — each page checked by axe."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from eligibility.importing import import_extract
from eligibility.models import Extract, ExtractStatus, Woman
from tests.eligibility.extracts import Ssd
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"


def _write(tmp_path, extract: Ssd) -> list[str]:
    paths = []
    for name, data in extract.named():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def test_upload_by_keyboard_watch_progress_and_read_the_summary(page, live_server, caseworker, tmp_path):
    sign_in(page, live_server, caseworker)
    page.get_by_role("link", name="Upload a case extract").click()
    expect(page.locator("h1")).to_have_text("Upload a case extract")
    check_axe(page, "upload")
    page.locator("#files").set_input_files(_write(tmp_path, Ssd()))
    page.locator("#files").focus()
    page.keyboard.press("Tab")
    while page.evaluate("() => document.activeElement.textContent.trim()") != "Upload and check":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the eager task runs the check during the request
    expect(page.locator("h1")).to_have_text("Check what the import will change")
    expect(page.locator(".govuk-summary-list")).to_contain_text("1 to be added")
    assert Extract.objects.get().status == ExtractStatus.CHECKED and not Woman.objects.exists()
    page.get_by_role("button", name="Confirm and import").focus()
    page.keyboard.press("Enter")  # the eager task runs the import during the request
    expect(page.locator("h1")).to_have_text("Extract imported")
    expect(page.locator(".govuk-summary-list")).to_contain_text("1 added")
    check_axe(page, "extract-imported")
    assert Extract.objects.get().status == ExtractStatus.SUCCEEDED and Woman.objects.count() == 1


def test_the_preview_shows_who_leaves_the_extract_and_confirming_imports_then_leads_to_the_queue(
        page, live_server, caseworker, programme, tmp_path):
    """Issue 24: the caseworker sees what the import will change (here, a woman and her child held
    from an earlier extract who are not in this one) before anything is written, confirms it, and
    is offered the decision queue as the next step."""
    earlier = Ssd().add("ssd_person", Ssd.person("M2", "Dee", "Jones", dob="1988-02-03", is_mother="Y"))
    earlier.add("ssd_person", Ssd.person("C3", "Eve", "Jones", dob="2010-04-05"))
    earlier.add("ssd_mother", {"moth_table_id": "T3", "moth_person_id": "M2", "moth_childs_person_id": "C3",
                               "moth_childs_dob": "2010-04-05"})
    earlier.add("ssd_legal_status", Ssd.legal("L3", "C3", "C2", "2011-01-01"))
    import_extract(programme=programme, files=earlier.files(), by=caseworker)
    sign_in(page, live_server, caseworker)
    page.goto(live_server.url + reverse("eligibility:upload"))
    page.get_by_role("link", name="See every column and code the portal accepts, with templates to download").click()
    expect(page.locator("h1")).to_have_text("Columns and codes an extract may have")
    check_axe(page, "extract-columns")
    page.go_back()
    page.locator("#files").set_input_files(_write(tmp_path, Ssd()))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h1")).to_have_text("Check what the import will change")
    expect(page.locator("#not-in-latest")).to_contain_text("1 women and 1 children held from earlier extracts")
    expect(page.locator(".govuk-warning-text")).to_contain_text("will be marked as no longer in the latest extract")
    check_axe(page, "extract-checked")
    assert not Woman.objects.filter(in_latest_extract=False).exists()  # nothing marked before confirmation
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.locator("h1")).to_have_text("Extract imported")
    expect(page.locator("#not-in-latest")).to_contain_text("they were marked as no longer in the latest extract")
    check_axe(page, "extract-confirmed-imported")
    assert Woman.objects.filter(in_latest_extract=False).count() == 1
    page.get_by_role("link", name="Go to the decision queue").click()
    expect(page.locator("h1")).to_have_text("Decision queue")


def test_a_refused_extract_lists_its_errors(page, live_server, caseworker, tmp_path):
    sign_in(page, live_server, caseworker)
    page.goto(live_server.url + reverse("eligibility:upload"))
    bad = Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY")
    page.locator("#files").set_input_files(_write(tmp_path, bad))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h1")).to_have_text("Extract not imported")
    expect(page.locator("table").first).to_contain_text("ssd_legal_status.csv")
    check_axe(page, "extract-refused")


def test_the_upload_error_and_mapping_pages(page, live_server, trust_lead):
    sign_in(page, live_server, trust_lead)
    page.goto(live_server.url + reverse("eligibility:upload"))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the extract files to upload")
    check_axe(page, "upload-error")
    page.goto(live_server.url + reverse("eligibility:mappings"))
    page.get_by_label("Name of the mapping").fill("Our system")
    page.get_by_label("Column names").fill("nonsense")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Line 1")
    check_axe(page, "mappings-error")


def test_the_progress_page_updates_without_a_reload(csp_page, live_server, caseworker, programme):
    """An import still waiting: the bar is there, and polling (under the CSP) reloads the page
    when it finishes."""
    page = csp_page
    sign_in(page, live_server, caseworker)
    extract = Extract.objects.create(programme=programme, uploaded_by=caseworker, sha256="3" * 64, size_bytes=10,
                                     progress_total=100, progress_done=40, stage="checking")
    page.goto(live_server.url + reverse("eligibility:extract", args=[extract.pk]))
    expect(page.locator("#progress-bar")).to_have_attribute("value", "40")
    Extract.objects.filter(pk=extract.pk).update(progress_done=70)
    expect(page.locator("#progress-bar")).to_have_attribute("value", "70", timeout=5000)
    from django.utils import timezone

    Extract.objects.filter(pk=extract.pk).update(status=ExtractStatus.REFUSED, finished_at=timezone.now(), stage="done")
    expect(page.locator("h1")).to_have_text("Extract not imported", timeout=5000)
