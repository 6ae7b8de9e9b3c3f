"""Pause's final scoping report (issue 6, point 5): written in the portal by the Pause lead —
text plus aggregate tables made from portal tables, each checked by the suppression helper
(`sharing.report_tables`) — submitted by the Pause lead, approved (or returned with a reason) by
a Trust lead. Drafts are written only while scoping is open; only an approved report outlives
scoping (`sharing.scoping_purge`). Every step is audited; the audit entry never carries the text.

Before approving, the Trust lead is warned of anything in the title and text that may identify
someone (`approval_warnings`: the programme's scoping tokens, token-shaped strings, counts of fewer
than 5 people). The warnings do not stop approval; how many there were is recorded with it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing.final_report_warnings import ReportWarning, warnings_for
from sharing.models_scoping import FinalReport, ReportStatus, ScopingChildRow, ScopingWomanRow
from sharing.report_tables import TABLES, make_tables
from sharing.scoping_term import scoping_is_open

TITLE_MAX = 200
BODY_MAX = 20_000


def _role(person: Person, programme: Programme, perm: Perm) -> str:
    membership = membership_in(person, programme.pk)
    if membership is None or not role_has(membership.role, perm):
        raise PermissionDenied("Not allowed in this programme.")
    return membership.role


def current_report(programme: Programme) -> FinalReport | None:
    """The approved report if there is one, else the report being written (there is at most one)."""
    reports = FinalReport.objects.filter(programme=programme).select_related("written_by", "decided_by")
    return (reports.filter(status=ReportStatus.APPROVED).first()
            or reports.exclude(status=ReportStatus.APPROVED).order_by("-pk").first())


def save_draft(programme: Programme, *, by: Person, title: str, body: str, tables: list[str]) -> FinalReport:
    """Write or rewrite the draft: the tables are made now, from the snapshot as it is."""
    role = _role(by, programme, Perm.WRITE_PAUSE_REPORTS)
    if not scoping_is_open(programme):
        raise ValidationError("Scoping has ended: the report can no longer be changed.")
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValidationError(f"Unknown table: {', '.join(unknown)}")
    made, problems = make_tables(programme, tables)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        report = (FinalReport.objects.select_for_update().filter(programme=programme)
                  .exclude(status=ReportStatus.APPROVED).order_by("-pk").first())
        if FinalReport.objects.filter(programme=programme, status=ReportStatus.APPROVED).exists():
            raise ValidationError("The report has been approved: it can no longer be changed.")
        if report is not None and report.status == ReportStatus.SUBMITTED:
            raise ValidationError("The report is waiting for a Trust lead's approval: it cannot be changed now.")
        if report is None:
            report = FinalReport(programme=programme, written_by=by)
        report.title, report.body, report.tables = title[:TITLE_MAX], body[:BODY_MAX], made
        report.updated_at = timezone.now()
        report.status = ReportStatus.RETURNED if report.status == ReportStatus.RETURNED else ReportStatus.DRAFT
        report.written_by = by
        report.save()
        record_event(Event.CHANGE, actor=by, target=report, programme=programme, role=role,
                     reason=f"final report draft saved ({len(made)} tables)")
    return report


def submit(report: FinalReport, *, by: Person) -> FinalReport:
    role = _role(by, report.programme, Perm.WRITE_PAUSE_REPORTS)
    if not scoping_is_open(report.programme):
        raise ValidationError("Scoping has ended: the report can no longer be submitted.")
    if report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
        raise ValidationError("Only a draft can be submitted.")
    if not report.title.strip() or not (report.body.strip() or report.tables):
        raise ValidationError("A report needs a title and some text or a table before it is submitted.")
    return _move(report, by, role, ReportStatus.SUBMITTED, "final report submitted for approval",
                 submitted_at=timezone.now(), written_by=by)


def scoping_tokens(programme: Programme) -> list[str]:
    """Every scoping token of the programme's released women and children (while the snapshot lasts)."""
    return [*ScopingWomanRow.objects.filter(programme=programme).values_list("token", flat=True),
            *ScopingChildRow.objects.filter(programme=programme).values_list("token", flat=True)]


def approval_warnings(report: FinalReport) -> list[ReportWarning]:
    """What in the report's title and text may identify someone (a warning, not a refusal)."""
    return warnings_for(f"{report.title}\n{report.body}", scoping_tokens(report.programme))


def approve(report: FinalReport, *, by: Person) -> FinalReport:
    """A Trust lead approves the submitted report. Warnings about its text do not stop it; their
    number (never the words) is recorded with the approval."""
    role = _role(by, report.programme, Perm.APPROVE_FINAL_REPORT)
    _check_decidable(report, by)
    warned = len(approval_warnings(report))
    what = "final report approved" + (f" ({warned} warning{'s' if warned != 1 else ''} about its text shown)"
                                      if warned else "")
    return _move(report, by, role, ReportStatus.APPROVED, what,
                 decided_by=by, decided_at=timezone.now(), return_reason="")


def return_for_changes(report: FinalReport, *, by: Person, reason: str) -> FinalReport:
    role = _role(by, report.programme, Perm.APPROVE_FINAL_REPORT)
    _check_decidable(report, by)
    if not reason.strip():
        raise ValidationError("Enter what needs to change")
    return _move(report, by, role, ReportStatus.RETURNED, "final report returned for changes",
                 decided_by=None, decided_at=None, return_reason=reason.strip()[:2000])


def _check_decidable(report: FinalReport, by: Person) -> None:
    if report.status != ReportStatus.SUBMITTED:
        raise ValidationError("Only a submitted report can be approved or returned.")
    if report.written_by_id == by.pk:
        raise ValidationError("You wrote this report: someone else must approve it.")
    if not scoping_is_open(report.programme):
        raise ValidationError("Scoping has ended: a report not approved by the deadline is purged with the rest.")


def _move(report: FinalReport, by: Person, role: str, status: str, what: str, **fields) -> FinalReport:
    with transaction.atomic():
        locked = FinalReport.objects.select_for_update().get(pk=report.pk)
        if locked.status != report.status:
            raise ValidationError("Someone else changed the report meanwhile: look at it again.")
        for name, value in {"status": status, **fields}.items():
            setattr(locked, name, value)
        locked.save()
        record_event(Event.CHANGE, actor=by, target=locked, programme=report.programme, role=role, reason=what)
    return locked
