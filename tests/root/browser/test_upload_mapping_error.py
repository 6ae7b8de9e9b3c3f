"""Issue 17: a column mapping that is not one of the programme's own is an error on the mapping
field (GOV.UK error summary linked to it), checked by axe; the upload keeps nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from eligibility.models import ColumnMapping, Extract
from tests.eligibility.extracts import Ssd
from tests.root.browser.helpers import check_axe, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_mapping_that_is_not_the_programmes_is_an_error_on_the_mapping_field(page, live_server, caseworker,
                                                                               programme, tmp_path, settings):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    ColumnMapping.objects.create(programme=programme, name="Our system", columns={"pers_person_id": "PersonID"},
                                 created_by=caseworker)
    paths = []
    for name, data in Ssd().named():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    sign_in(page, live_server, caseworker)
    page.goto(live_server.url + reverse("eligibility:upload"))
    page.locator("#files").set_input_files(paths)
    # What a stale page or a crafted request sends: an option that is not a mapping id.
    page.evaluate("() => { document.querySelector('#id_mapping option:last-child').value = 'not-a-number'; }")
    page.get_by_label("Column names (optional)").select_option(label="Our system")
    page.get_by_role("button", name="Upload and check").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select a saved column mapping from the list")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#id_mapping")
    expect(page.locator("#id_mapping-error")).to_contain_text("Select a saved column mapping from the list")
    check_axe(page, "upload-mapping-error")
    assert not Extract.objects.exists() and not any((tmp_path / "uploads").rglob("*"))
