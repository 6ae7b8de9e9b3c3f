"""The final scoping report: written by the Pause lead from the snapshot's aggregates (each table
suppressed), submitted, approved or returned by a Trust lead; only the approved report survives
the purge. And the deletion certificate page for the DPO and the Caldicott Guardian."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry
from sharing import final_report
from sharing.models_scoping import FinalReport, ReportStatus, ScopingWomanRow
from sharing.report_tables import TABLES, make_table
from sharing.scoping_purge import end_scoping
from sharing.scoping_term import scoping_deadline
from tests.conftest import sign_in_verified
from tests.sharing.test_end_of_scoping import scoping_data

pytestmark = pytest.mark.django_db

REPORT = reverse("scoping-report:report")
SUBMIT = reverse("scoping-report:submit")
DECIDE = reverse("scoping-report:decide")
CERTIFICATE = reverse("scoping-report:certificate")
FINDINGS = "Most removals happened in 2015-2019; the need for a practice is clear."


@pytest.fixture
def snapshot(programme, trust_lead, pause_lead, caldicott):
    """Thirteen served rows (8 aged 30-39 with 2 removed in 2015-2019, 5 aged 20-29 with 3 removed
    in 2010-2014), all White with the same outcome: k = 5 over everything served, as the check
    leaves it; and one withheld row that no table may count."""
    made = scoping_data(programme, trust_lead, pause_lead, caldicott, women=14)
    FinalReport.objects.filter(programme=programme).delete()  # start with no report
    rows = list(ScopingWomanRow.objects.filter(programme=programme).order_by("pk"))
    for row in rows[8:13]:
        row.age_band, row.children_removed, row.removal_years = "20-29", "3", "2010-2014"
        row.save()
    rows[13].withheld, rows[13].age_band = True, "40-49"
    rows[13].save()
    return made


def _served_class_of_four(programme):
    """A state the check never leaves (a served class of 4), made by hand to test the last gate."""
    row = ScopingWomanRow.objects.filter(programme=programme, age_band="20-29").order_by("pk").first()
    row.withheld = True
    row.save()


def test_a_table_counts_served_rows_only_and_never_shows_a_small_number(programme, snapshot):
    table = make_table(programme, "removals_by_age")
    assert table["rows"] == ["2", "3"] and table["columns"] == ["20-29", "30-39"]
    assert table["cells"] == [["0", "8"], ["5", "0"]] and table["hidden"] == 0  # whole classes: 0 or >= 5
    assert table["total"] == 13  # the withheld row is not counted
    assert "40-49" not in table["columns"]
    _served_class_of_four(programme)
    # the 4 women aged 20-29 with 3 removed would be a small number that only a hidden zero could
    # protect (and a reader would tell it apart): the table is refused, never shown with a 4
    with pytest.raises(ValueError, match="cannot be hidden safely"):
        make_table(programme, "removals_by_age")


def test_the_pause_lead_writes_submits_and_a_trust_lead_approves(client, programme, pause_lead, trust_lead, snapshot):
    sign_in_verified(client, pause_lead)
    response = client.post(REPORT, {"title": "Scoping findings", "body": FINDINGS,
                                    "tables": ["removals_by_age", "removals_by_period"]})
    assert response.status_code == 302
    report = FinalReport.objects.get()
    assert report.status == ReportStatus.DRAFT and [t["name"] for t in report.tables] == ["removals_by_age",
                                                                                          "removals_by_period"]
    page = client.get(REPORT).content.decode()
    assert FINDINGS in page and "Women by number of children removed and age band" in page
    for row in ScopingWomanRow.objects.all():
        assert row.token not in page  # aggregates only
    assert client.post(SUBMIT).status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED and report.submitted_at
    assert client.post(REPORT, {"title": "Changed", "body": "x"}).status_code == 404  # locked once submitted

    sign_in_verified(client, trust_lead)
    assert "Approve the report" in client.get(REPORT).content.decode()
    client.post(DECIDE, {"decision": "approve"})
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED and report.decided_by == trust_lead
    reasons = list(AuditEntry.objects.filter(reason__startswith="final report").order_by("pk")
                   .values_list("reason", flat=True))
    assert reasons == ["final report draft saved (2 tables)", "final report submitted for approval",
                       "final report approved"]
    assert not any(FINDINGS in r for r in AuditEntry.objects.values_list("reason", flat=True))


def test_a_returned_report_goes_back_with_the_reason_and_can_be_resubmitted(client, programme, pause_lead,
                                                                           trust_lead, snapshot):
    report = final_report.save_draft(programme, by=pause_lead, title="T", body=FINDINGS, tables=[])
    final_report.submit(report, by=pause_lead)
    sign_in_verified(client, trust_lead)
    client.post(DECIDE, {"decision": "return", "reason": ""})
    assert FinalReport.objects.get().status == ReportStatus.SUBMITTED  # a return needs a reason
    client.post(DECIDE, {"decision": "return", "reason": "Add the table by period."})
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED and report.return_reason == "Add the table by period."
    report = final_report.save_draft(programme, by=pause_lead, title="T", body=FINDINGS, tables=["removals_by_period"])
    assert final_report.submit(report, by=pause_lead).status == ReportStatus.SUBMITTED


def test_only_a_trust_lead_approves_and_never_the_writer(programme, pause_lead, trust_lead, caseworker, snapshot):
    report = final_report.submit(final_report.save_draft(programme, by=pause_lead, title="T", body="B", tables=[]),
                                 by=pause_lead)
    for person in (pause_lead, caseworker):
        with pytest.raises(PermissionDenied):
            final_report.approve(report, by=person)
    with pytest.raises(PermissionDenied):
        final_report.save_draft(programme, by=trust_lead, title="T", body="B", tables=[])
    with pytest.raises(ValidationError, match="Unknown table"):
        final_report.save_draft(programme, by=pause_lead, title="T", body="B", tables=["everything"])


def test_after_the_deadline_a_draft_is_neither_shown_nor_changed_and_the_purge_keeps_only_the_approved(
        client, programme, pause_lead, trust_lead, caldicott, snapshot):
    final_report.save_draft(programme, by=pause_lead, title="Unapproved title", body="B", tables=["removals_by_age"])
    with time_machine.travel(scoping_deadline(programme) + timedelta(minutes=1), tick=False):
        sign_in_verified(client, pause_lead)  # (signed in after the jump: a session would time out)
        page = client.get(REPORT).content.decode()
        assert "Unapproved title" not in page and "No report was approved, so none was kept" in page
        with pytest.raises(ValidationError, match="Scoping has ended"):
            final_report.save_draft(programme, by=pause_lead, title="Late", body="B", tables=[])
    end_scoping(programme, by=caldicott, trigger="deadline")
    assert not FinalReport.objects.exists()


def test_the_approved_report_outlives_scoping(client, programme, pause_lead, trust_lead, caldicott, snapshot):
    report = final_report.submit(final_report.save_draft(programme, by=pause_lead, title="Kept report",
                                                         body=FINDINGS, tables=["removals_by_age"]), by=pause_lead)
    final_report.approve(report, by=trust_lead)
    end_scoping(programme, by=caldicott, trigger="phase change #1")
    assert list(FinalReport.objects.all()) == [report]
    sign_in_verified(client, pause_lead)
    page = client.get(REPORT).content.decode()
    assert "Kept report" in page and FINDINGS in page and "Save the draft" not in page


def test_the_certificate_page_shows_the_stores_keys_and_a_matching_digest(client, programme, dpo, caldicott,
                                                                         pause_lead, trust_lead, snapshot):
    sign_in_verified(client, dpo)
    assert "Scoping has not ended" in client.get(CERTIFICATE).content.decode()
    certificate = end_scoping(programme, by=caldicott, trigger="phase change #3")
    for person in (dpo, caldicott):
        page = sign_in_verified(Client(), person).get(CERTIFICATE).content.decode()
        assert certificate.digest in page and "Matches" in page and "Released women (scoping snapshot)" in page
        assert f"{programme.pk}/scoping/token" in page and caldicott.full_name in page


@pytest.mark.parametrize(("url", "allowed"), [
    (REPORT, {"pause_lead", "trust_lead"}),
    (SUBMIT, {"pause_lead"}),
    (DECIDE, {"trust_lead"}),
    (CERTIFICATE, {"dpo", "caldicott"}),
])
def test_every_other_role_gets_404(actors, url, allowed, snapshot):
    for who, person in actors.items():
        if who in allowed or who == "other_programme_person":
            continue  # (another programme's people: see the next test)
        client = sign_in_verified(Client(), person)
        assert client.get(url).status_code == 404, (who, url)
        assert client.post(url, {"decision": "approve", "title": "x"}).status_code == 404, (who, url)
    assert not FinalReport.objects.exists()


def test_a_person_of_another_programme_sees_nothing_of_this_report(programme, other_programme, pause_lead,
                                                                   snapshot):
    from tests.conftest import _member

    final_report.save_draft(programme, by=pause_lead, title="Ours", body=FINDINGS, tables=[])
    theirs = sign_in_verified(Client(), _member(other_programme, "pause_lead"))
    page = theirs.get(REPORT).content.decode()
    assert "Ours" not in page and FINDINGS not in page and "No report has been written yet" in page
    assert theirs.post(SUBMIT).status_code == 404


def test_a_table_that_cannot_be_protected_is_refused_with_the_reason(client, programme, pause_lead, snapshot):
    _served_class_of_four(programme)
    # one ethnic group only: the 4 women aged 20-29 would equal a published total; in the other
    # tables they could only be protected by hiding a zero
    tables, problems = final_report.make_tables(programme, list(TABLES))
    assert tables == []
    assert len(problems) == 4 and all("cannot be published safely" in p for p in problems)
    sign_in_verified(client, pause_lead)
    response = client.post(REPORT, {"title": "T", "body": "B", "tables": ["age_by_ethnic_group"]})
    assert response.status_code == 400 and "Women by age band and broad ethnic group: cannot be published safely" \
        in response.content.decode()
    assert not FinalReport.objects.exists()
