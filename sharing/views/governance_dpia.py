"""The DPIA register pages (issue 23, point 2; ADR 48): the programme's DPIA risks and its review
date. The Trust lead, the DPO and the Caldicott Guardian read it; the Trust lead and the DPO add
and change risks and record reviews; anyone else gets 404 (the permission marks). Thin: parse, call
`sharing.dpia_register`, render. A risk is named by id only to find it among this programme's: a
foreign or unknown one answers 404. Pages showing staff names record whose they showed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing import dpia_register
from sharing.dpia_register import DpiaRefused
from sharing.forms_dpia import DpiaReviewForm, DpiaRiskForm
from sharing.models_dpia import DpiaRisk, RiskLevel, RiskStatus


def _register(request, *, review_form=None, refusal=None, status=200):
    membership = current_membership(request)
    programme = membership.programme
    risks = list(dpia_register.risks_of(programme))
    review = dpia_register.latest_review(programme)
    owners = dpia_register.owners_shown(programme, risks)
    shown = {r.owner_id: r.owner for r in risks} | ({review.reviewed_by_id: review.reviewed_by} if review else {})
    record_staff_view(request, shown.values(), membership=membership)
    today = timezone.localdate()
    return render(request, "governance/dpia.html", {
        "programme": programme, "review": review, "overdue": review is not None and today > review.next_review_on,
        "blocker": dpia_register.release_blocker(programme, today=today),
        "rows": [{"risk": r, "owner": owners[r.owner_id]} for r in risks],
        "open_high": sum(1 for r in risks if r.status == RiskStatus.OPEN and r.overall_risk == RiskLevel.HIGH),
        "may_edit": role_has(membership.role, Perm.KEEP_DPIA_REGISTER),
        "review_form": review_form or DpiaReviewForm(programme=programme), "refusal": refusal,
    }, status=status)


def _risk_page(request, form, risk=None, *, refusal=None, status=200):
    return render(request, "governance/dpia_risk.html", {
        "programme": current_membership(request).programme, "form": form, "risk": risk, "refusal": refusal,
    }, status=status)


def _own_risk(request, pk) -> DpiaRisk:
    programme = current_membership(request).programme
    risk = DpiaRisk.objects.filter(programme=programme, pk=pk if str(pk).isdigit() else None).first()
    if risk is None:
        raise Http404("No such risk.")
    return risk


@for_perm(Perm.VIEW_DPIA_REGISTER)
def register(request):
    return _register(request)


@for_perm(Perm.KEEP_DPIA_REGISTER)
@require_http_methods(["GET", "POST"])
def add_risk(request):
    programme = current_membership(request).programme
    if request.method == "GET":
        return _risk_page(request, DpiaRiskForm(programme=programme, initial={"status": RiskStatus.OPEN}))
    form = DpiaRiskForm(request.POST, programme=programme)
    if form.is_valid():
        try:
            dpia_register.add_risk(programme=programme, by=request.user, values=form.values())
        except DpiaRefused as refusal:
            return _risk_page(request, form, refusal=refusal, status=400)
        messages.success(request, "Risk added to the DPIA register.")
        return redirect("governance:dpia")
    return _risk_page(request, form, status=400)


@for_perm(Perm.KEEP_DPIA_REGISTER)
@require_http_methods(["GET", "POST"])
def edit_risk(request):
    if request.method == "GET":
        if "risk" not in request.GET:
            return redirect("governance:dpia")
        risk = _own_risk(request, request.GET["risk"])
        return _risk_page(request, DpiaRiskForm.of(risk), risk)
    risk = _own_risk(request, request.POST.get("risk", ""))
    form = DpiaRiskForm.of(risk, data=request.POST)
    if form.is_valid():
        try:
            dpia_register.edit_risk(risk=risk, by=request.user, values=form.values())
        except DpiaRefused as refusal:
            return _risk_page(request, form, risk, refusal=refusal, status=400)
        messages.success(request, "Risk changed.")
        return redirect("governance:dpia")
    return _risk_page(request, form, risk, status=400)


@for_perm(Perm.KEEP_DPIA_REGISTER)
@require_POST
def record_review(request):
    programme = current_membership(request).programme
    form = DpiaReviewForm(request.POST, programme=programme)
    if form.is_valid():
        data = form.cleaned_data
        try:
            review = dpia_register.record_review(programme=programme, by=request.user, reviewed_on=data["reviewed_on"],
                                                 next_review_on=data["next_review_on"], notes=data["notes"])
        except DpiaRefused as refusal:
            return _register(request, review_form=form, refusal=refusal, status=400)
        messages.success(request, f"Review recorded. The next review is due on "
                                  f"{review.next_review_on.day} {review.next_review_on:%B %Y}.")
        return redirect("governance:dpia")
    return _register(request, review_form=form, status=400)
