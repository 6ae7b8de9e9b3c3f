"""Suspected breaches' pages: the report form any member of a programme files (and its
confirmation: the reporter never sees the register), the DPO's triage list and page, and the
escalation of a monitoring flag into a breach (issue 23, point 4; ADR 49)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from audit.core.models_rights import SuspectedBreach
from audit.oversight import breach_reports, review
from audit.oversight.forms_breach import NO_NAMES, DismissForm, EscalateForm, ReportForm, TriageForm
from pause_portal.access import for_perm
from pause_portal.refused import Refused
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


@for_perm(Perm.REPORT_SUSPECTED_BREACH)
@require_http_methods(["GET", "HEAD", "POST"])
def report(request):
    membership = current_membership(request)
    form, refusal = ReportForm(request.POST if request.method == "POST" else None), ""
    pause = breach_reports.pause_role(membership.role)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            breach_reports.report_suspected_breach(
                programme=membership.programme, by=request.user, what_happened=data["what_happened"],
                noticed_at=data["noticed_at"], pause_side=data["pause_side"] == "yes", systems=data["systems"],
                portal_url=request.build_absolute_uri(reverse("breach:reports")))
        except Refused as exc:
            refusal = exc.message
        else:
            return redirect("breach:reported")
    return render(request, "rights/breach_report.html", {
        "programme": membership.programme, "form": form, "refusal": refusal, "no_names": NO_NAMES,
        "pause": pause}, status=400 if form.errors or refusal else 200)


@for_perm(Perm.REPORT_SUSPECTED_BREACH)
@require_safe
def reported(request):
    return render(request, "rights/breach_reported.html", {"programme": current_membership(request).programme})


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_safe
def reports(request):
    programme = current_membership(request).programme
    rows = list(breach_reports.reports_of(programme.pk))
    return render(request, "rights/breach_reports.html", {"programme": programme, "reports": rows})


def _report_or_404(request, pk: int) -> SuspectedBreach:
    membership = current_membership(request)
    found = (SuspectedBreach.objects.filter(pk=pk, programme_id=membership.programme_id).first()
             if membership else None)
    if found is None:
        raise Http404("No such report.")
    return found


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_http_methods(["GET", "HEAD", "POST"])
def triage(request, pk: int):
    found = _report_or_404(request, pk)
    triage_form, dismiss_form, refusal = TriageForm(prefix="breach"), DismissForm(prefix="dismiss"), ""
    failed = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("breach", "dismiss"):
            raise Http404("No such action.")
        failed = (TriageForm if action == "breach" else DismissForm)(request.POST, prefix=action)
        if action == "breach":
            triage_form = failed
        else:
            dismiss_form = failed
        if failed.is_valid():
            data = failed.cleaned_data
            try:
                if action == "breach":
                    breach = breach_reports.record_from_report(
                        found, by=request.user, risk=data["risk"], people_affected=data["people_affected"],
                        aware_at=data["aware_at"], aware_reason=data["aware_reason"],
                        affected_count=data["affected_count"], actions_taken=data["actions_taken"])
                    messages.success(request, f"Recorded as breach {breach.reference}.")
                    return redirect("rights:breach", breach.pk)
                breach_reports.dismiss_report(found, by=request.user, reason=data["reason"])
                messages.success(request, "The report is dismissed.")
                return redirect("breach:reports")
            except Refused as exc:
                refusal = exc.message
        found = _report_or_404(request, pk)
    account = breach_reports.account_of(found, by=request.user, page=request.path)
    if account is None:
        raise Http404("No such report.")
    return render(request, "rights/breach_report_triage.html", {
        "r": found, "account": account, "triage_form": triage_form, "dismiss_form": dismiss_form,
        "refusal": refusal, "failed": failed},
        status=400 if refusal or (failed is not None and failed.errors) else 200)


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_http_methods(["GET", "HEAD", "POST"])
def escalate_flag(request, pk: int):
    membership = current_membership(request)
    flag = review.flags_in_scope(membership.programme).filter(pk=pk).first()
    if flag is None:
        raise Http404("No such flag.")
    form, refusal = EscalateForm(request.POST if request.method == "POST" else None), ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            breach = breach_reports.escalate_flag(
                flag, programme=membership.programme, by=request.user, what_happened=data["what_happened"],
                people_affected=data["people_affected"], risk=data["risk"], aware_at=data["aware_at"],
                aware_reason=data["aware_reason"], pause_side=data["pause_side"] == "yes",
                affected_count=data["affected_count"], actions_taken=data["actions_taken"])
        except Refused as exc:
            refusal = exc.message
        else:
            messages.success(request, f"Flag escalated into breach {breach.reference}.")
            return redirect("rights:breach", breach.pk)
    return render(request, "rights/flag_escalate.html", {"flag": flag, "form": form, "refusal": refusal,
                                                         "reference": breach_reports.flag_reference(flag)},
                  status=400 if form.errors or refusal else 200)
