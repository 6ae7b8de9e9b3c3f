"""The final scoping report (Pause lead writes and submits, a Trust lead approves or returns) and
the deletion certificate (DPO and Caldicott Guardian). Aggregates only: no page here shows a row.

Each view is recorded in the audit trail; what a role sees follows the phase: a draft only while
scoping is open; once scoping has ended, only the approved report. Until a report is approved, the
page warns of anything in its text that may identify someone (`final_report.approval_warnings`):
the Pause lead before submitting, the Trust lead before approving. Warnings never block.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eligibility.disclosure import record_disclosure
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing import final_report
from sharing.forms_report import ReportForm, ReturnForm
from sharing.models_scoping import DeletionCertificate, FinalReport, ReportStatus
from sharing.scoping_purge import certificate_digest, certificate_text
from sharing.scoping_term import scoping_deadline, scoping_is_open


def _visible_report(programme) -> FinalReport | None:
    report = final_report.current_report(programme)
    if report is None or report.status == ReportStatus.APPROVED or scoping_is_open(programme):
        return report
    return None  # scoping has ended: an unapproved draft is no longer shown (the purge deletes it)


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


@for_perm(Perm.VIEW_FINAL_REPORT)
def report(request):
    membership = current_membership(request)
    programme, role = membership.programme, membership.role
    current = _visible_report(programme)
    is_open = scoping_is_open(programme)
    editable = (role_has(role, Perm.WRITE_PAUSE_REPORTS) and is_open
                and (current is None or current.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)))
    form, status = None, 200
    if request.method == "POST":
        if not editable:
            raise Http404("No such page.")
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                final_report.save_draft(programme, by=request.user, **form.cleaned_data)
            except PermissionDenied as exc:
                raise Http404("No such page.") from exc
            except ValidationError as exc:
                for message in _errors(exc):
                    form.add_error(None, message)
            else:
                messages.success(request, "Draft saved. The tables were made from the release as it is now.")
                return redirect("scoping-report:report")
        status = 400
    elif editable:
        initial = {"title": current.title, "body": current.body, "tables": [t["name"] for t in current.tables]} \
            if current else {}
        form = ReportForm(initial=initial)
    warnings = (final_report.approval_warnings(current)
                if current is not None and current.status != ReportStatus.APPROVED and is_open else [])
    if current is not None:
        record_disclosure(request.user, membership=membership, target=current,
                          reason="final scoping report viewed (aggregates only)", page=request.path)
    return render(request, "scoping_report/report.html", {
        "report": current, "tables": [_shown(t) for t in current.tables] if current else [], "form": form, "role": role, "is_open": is_open,
        "deadline": scoping_deadline(programme), "return_form": ReturnForm(), "warnings": warnings,
        "can_decide": (role_has(role, Perm.APPROVE_FINAL_REPORT) and current is not None and current.status == ReportStatus.SUBMITTED
                       and current.written_by_id != request.user.pk and is_open),
        "can_submit": (role_has(role, Perm.WRITE_PAUSE_REPORTS) and current is not None and is_open
                       and current.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)),
    }, status=status)


def _shown(table: dict) -> dict:
    """A stored table, with its rows zipped for the template."""
    body = [{"label": label, "cells": cells, "total": total}
            for label, cells, total in zip(table["rows"], table["cells"], table["row_totals"], strict=True)]
    return {**table, "body": body}


def _report_or_404(request) -> FinalReport:
    current = _visible_report(current_membership(request).programme)
    if current is None:
        raise Http404("No such page.")
    return current


@for_perm(Perm.WRITE_PAUSE_REPORTS)
@require_POST
def submit(request):
    current = _report_or_404(request)
    try:
        final_report.submit(current, by=request.user)
    except PermissionDenied as exc:
        raise Http404("No such page.") from exc
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, "Report submitted. A Trust lead will approve it or return it with comments.")
    return redirect("scoping-report:report")


@for_perm(Perm.APPROVE_FINAL_REPORT)
@require_POST
def decide(request):
    current = _report_or_404(request)
    try:
        if request.POST.get("decision") == "approve":
            final_report.approve(current, by=request.user)
            messages.success(request, "Report approved. It is the one record of scoping that is kept.")
        elif request.POST.get("decision") == "return":
            form = ReturnForm(request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, message)
                return redirect("scoping-report:report")
            final_report.return_for_changes(current, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, "Report returned to the Pause lead with your comments.")
        else:
            messages.error(request, "Select approve or return")
    except PermissionDenied as exc:
        raise Http404("No such page.") from exc
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    return redirect("scoping-report:report")


@for_perm(Perm.VIEW_DELETION_CERTIFICATE)
def certificate(request):
    membership = current_membership(request)
    found = DeletionCertificate.objects.filter(programme=membership.programme).select_related("purged_by").first()
    if found is not None:
        record_disclosure(request.user, membership=membership, target=found, reason="deletion certificate viewed",
                          page=request.path)
    return render(request, "scoping_report/certificate.html", {
        "certificate": found, "text": certificate_text(found) if found else "",
        "verified": found is not None and certificate_digest(found) == found.digest,
        "deadline": scoping_deadline(membership.programme),
    })
