"""Warnings about the final report's text before it is approved (issue 16, point 7): a scoping
token of the programme, anything shaped like a token, or a count of fewer than 5 people. A
heuristic on fixed examples, and warning-only: the Trust lead may still approve."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry
from pseudonymisation.tokens import TokenKind, encode
from sharing import final_report
from sharing.final_report_warnings import warnings_for
from sharing.models_scoping import FinalReport, ReportStatus, ScopingWomanRow
from tests.conftest import sign_in_verified
from tests.sharing.test_leaving_scoping import snapshot

KNOWN = encode(TokenKind.WOMAN, 123_456_789_012_345)  # W-003G-9230-VQVS-7
OTHER = encode(TokenKind.CHILD, 987_654_321_098_765)


def kinds(text: str, tokens=(KNOWN,)) -> list[tuple[str, str]]:
    return [(w.kind, w.found) for w in warnings_for(text, tokens)]


@pytest.mark.parametrize(("text", "found"), [
    ("3 women", "3 women"),
    ("two mothers", "two mothers"),
    ("4 children", "4 children"),
    ("Four mothers had a child removed.", "Four mothers"),
    ("one woman said she would take part", "one woman"),
    ("4 looked-after children", "4 looked-after children"),
    ("3 of the women", "3 of the women"),
    ("Most women had two or three children removed.", "three children"),
    ("In 2026, 3 women were referred.", "3 women"),
    ("the sample (n = 2)", "n = 2"),
])
def test_small_counts_of_people_warn(text, found):
    assert kinds(text) == [("small_count", found)]


@pytest.mark.parametrize("text", [
    "3 months", "phase 2", "2026", "Phase 2 women were seen", "3 months with women", "3 in 10 women",
    "10 women", "12 children", "two-thirds of women", "1.5 children on average", "Table 3 children by age",
    "fewer than 5 women", "Most removals happened in 2015-2019; the need for a practice is clear.",
    "Communications with the Trust",
])
def test_other_numbers_and_words_do_not(text):
    assert kinds(text) == []


def test_a_known_token_warns_however_it_is_written():
    spaced = KNOWN.lower().replace("-", " ")
    assert kinds(f"See {KNOWN} for the pattern") == [("known_token", KNOWN)]
    assert kinds(f"See {spaced}.") == [("known_token", spaced)]
    assert kinds(f"See{KNOWN.replace('-', '')}x") == [("known_token", KNOWN)]  # run into other words


def test_a_token_shaped_string_warns_even_when_unknown():
    assert kinds(f"Compare {OTHER}") == [("token_shape", OTHER)]
    assert kinds("W-ABCD-EFGH-JKMN-P") == [("token_shape", "W-ABCD-EFGH-JKMN-P")]


def test_the_messages_say_what_to_do():
    small, token = warnings_for("3 women", [])[0], warnings_for(KNOWN, [KNOWN])[0]
    assert "fewer than 5" in small.message and "“3 women”" in small.message
    assert "scoping token of a woman or child released to Pause" in token.message


# --- on the report page, before approval ------------------------------------------------------
@pytest.mark.django_db
def test_the_approver_is_warned_and_may_still_approve(programme, trust_lead, caldicott, pause_lead):
    _, tokens = snapshot(programme, trust_lead, caldicott)
    token = ScopingWomanRow.objects.first().token
    report = FinalReport.objects.create(programme=programme, title="Findings", written_by=pause_lead,
                                        body=f"Two mothers agreed to talk. One is {token}. Most cases were in 2019.",
                                        status=ReportStatus.SUBMITTED)
    assert [w.kind for w in final_report.approval_warnings(report)] == ["known_token", "small_count"]

    lead = sign_in_verified(Client(), trust_lead)
    page = lead.get(reverse("scoping-report:report")).content.decode()
    assert 'data-testid="report-warnings"' in page and "Before you approve it" in page
    assert "looks like a count of fewer than 5 people" in page and "Two mothers" in page
    assert "you may still approve the report" in page and "Approve the report" in page
    assert lead.post(reverse("scoping-report:decide"), {"decision": "approve"}).status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    entry = AuditEntry.objects.get(reason__startswith="final report approved")
    assert entry.reason == "final report approved (2 warnings about its text shown)"
    assert not any(t in entry.reason for t in tokens)
    # once approved, nothing is left to warn about on the page
    assert 'data-testid="report-warnings"' not in lead.get(reverse("scoping-report:report")).content.decode()


@pytest.mark.django_db
def test_a_clean_report_shows_no_warning(programme, trust_lead, pause_lead):
    FinalReport.objects.create(programme=programme, title="Findings", written_by=pause_lead,
                               body="Most removals happened in 2015-2019.", status=ReportStatus.SUBMITTED)
    page = sign_in_verified(Client(), trust_lead).get(reverse("scoping-report:report")).content.decode()
    assert 'data-testid="report-warnings"' not in page and "Approve the report" in page
