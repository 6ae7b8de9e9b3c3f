"""Quarterly progress reports (issue 7, point 6): the Pause lead drafts and sends them in delivery;
the Trust's caseworkers, leads and Caldicott Guardian read the sent ones (in delivery, and after
the programme closes). Aggregates only: no page here shows a record. Every other role — and
the Pause lead outside delivery — gets 404, as does a report of another programme or, for the
Trust, a draft.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eligibility.disclosure import record_disclosure
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing import progress_reports
from sharing.forms_progress import DraftForm
from sharing.models_delivery import QuarterlyReport, QuarterlyReportStatus
from sharing.progress_reports import MEASURE_LABELS, QuarterOf, reportable_quarters
from sharing.progress_suppression import MEASURES


def _membership(request):
    """The reader's membership, or 404: the writer (the Pause lead) in delivery; the Trust in
    delivery or closed."""
    membership = current_membership(request)
    phase = membership.programme.phase
    allowed = Phase.DELIVERY if _writes(membership) else (Phase.DELIVERY, Phase.CLOSED)
    if phase not in allowed:
        raise Http404("No such page.")
    return membership


def _writes(membership) -> bool:
    return role_has(membership.role, Perm.WRITE_PAUSE_REPORTS)


def _visible(membership):
    reports = QuarterlyReport.objects.filter(programme=membership.programme)
    if not _writes(membership):
        reports = reports.filter(status=QuarterlyReportStatus.SENT)
    return reports


@for_perm(Perm.VIEW_PROGRESS_REPORTS)
def reports(request):
    membership = _membership(request)
    visible = _visible(membership).select_related("written_by").order_by("-year", "-quarter", "-pk")
    writes = _writes(membership)
    return render(request, "progress/list.html", {
        "reports": list(visible), "writes": writes, "programme": membership.programme,
        "can_draft": writes and bool(reportable_quarters(membership.programme)),
    })


@for_perm(Perm.WRITE_PAUSE_REPORTS)
def draft(request):
    membership = _membership(request)
    programme = membership.programme
    quarters = reportable_quarters(programme)
    status = 200
    if request.method == "POST":
        form = DraftForm(request.POST, quarters=quarters)
        if form.is_valid():
            try:
                made = progress_reports.save_draft(programme, by=request.user, **form.cleaned_data)
            except PermissionDenied as exc:
                raise Http404("No such page.") from exc
            except ValidationError as exc:
                by_field = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for field, errors in by_field.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, "Draft made. Check the table, then send it.")
                return redirect("progress:report", pk=made.pk)
        status = 400
    else:
        form = DraftForm(quarters=quarters, initial={"quarter": quarters[-1].key} if quarters else {})
    return render(request, "progress/draft.html", {"form": form, "quarters": quarters,
                                                    "sent": progress_reports.last_sent(programme)}, status=status)


def _table(report: QuarterlyReport) -> dict:
    quarters = report.figures.get("quarters", [])
    cells = report.figures.get("cells", {})
    return {
        "quarters": quarters,
        "rows": [{"label": MEASURE_LABELS[m], "cells": [cells[m][q["key"]] for q in quarters]} for m in MEASURES],
        "notes": report.figures.get("notes", []), "threshold": report.figures.get("threshold"),
    }


@for_perm(Perm.VIEW_PROGRESS_REPORTS)
def report(request, pk: int):
    membership = _membership(request)
    found = _visible(membership).select_related("written_by").filter(pk=pk).first()
    if found is None:
        raise Http404("No such page.")
    record_disclosure(request.user, membership=membership, target=found,
                      reason=f"progress report {found.year} Q{found.quarter} viewed (aggregates only)",
                      page=request.path)
    writes = _writes(membership)
    sendable = (writes and found.status == QuarterlyReportStatus.DRAFT
                and QuarterOf(found.year, found.quarter) in reportable_quarters(membership.programme))
    return render(request, "progress/report.html", {
        "report": found, "table": _table(found), "writes": writes, "sendable": sendable,
        "label": QuarterOf(found.year, found.quarter).label,
        "verified": found.status == QuarterlyReportStatus.SENT and progress_reports.digest(found) == found.sha256,
    })


@for_perm(Perm.WRITE_PAUSE_REPORTS)
def send(request, pk: int):
    membership = _membership(request)
    found = _visible(membership).filter(pk=pk).first()
    if found is None:  # not yours looks exactly like not found, whatever the method
        raise Http404("No such page.")
    return _send(request, found)


@require_POST
def _send(request, found):
    try:
        progress_reports.send(found, by=request.user)
    except PermissionDenied as exc:
        raise Http404("No such page.") from exc
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Report sent. It can no longer be changed; the next report restates its "
                                  "quarters exactly as sent.")
    return redirect("progress:report", pk=found.pk)
