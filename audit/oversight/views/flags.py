"""Monitoring flags for the DPO (list, one flag, closing it with a note) and the
declared-conflicts register (who declared, when, how they know the person — never whom)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from audit.core.models_review import ConflictDeclaration, FlagRule, FlagStatus
from audit.oversight import review
from audit.oversight.forms_review import CloseFlagForm
from audit.oversight.review_actions import ReviewRefused, close_flag
from audit.oversight.views.common import entry_rows
from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

PER_PAGE = 50


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_safe
def flags(request):
    membership = current_membership(request)
    status = request.GET.get("status", FlagStatus.OPEN)
    status = status if status in (*FlagStatus.values, "all") else FlagStatus.OPEN
    rule = request.GET.get("rule", "")
    rule = rule if rule in FlagRule.values else ""
    rows = review.flags_in_scope(membership.programme).select_related("actor", "closed_by")
    if status != "all":
        rows = rows.filter(status=status)
    if rule:
        rows = rows.filter(rule=rule)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    record_staff_view(request, {f.actor_id: f.actor for f in page if f.actor_id}.values(), membership=membership)
    return render(request, "dpo/flags.html", {"page": page, "status": status, "rule": rule,
                                              "rules": FlagRule.choices, "statuses": FlagStatus.choices,
                                              "programme": membership.programme})


def _flag_or_404(request, pk: int):
    flag = review.flags_in_scope(current_membership(request).programme).select_related(
        "actor", "closed_by", "entry").filter(pk=pk).first()
    if flag is None:
        raise Http404("No such flag.")
    return flag


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_http_methods(["GET", "HEAD", "POST"])
def flag(request, pk: int):
    membership = current_membership(request)
    found = _flag_or_404(request, pk)
    form = CloseFlagForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            close_flag(found, by=request.user, programme=membership.programme, note=form.cleaned_data["note"])
            return redirect("dpo:flag", pk=found.pk)
        except ReviewRefused as refused:
            form.add_error("note", str(refused))
    rows = entry_rows([found.entry]) if found.entry else []
    shown = [p for p in (found.actor, found.closed_by) if p]
    record_staff_view(request, {p.pk: p for p in shown}.values(), membership=membership)
    return render(request, "dpo/flag.html", {"flag": found, "rows": rows, "form": form,
                                             "own": found.actor_id == request.user.pk},
                  status=400 if form.errors else 200)


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_safe
def conflicts_register(request):
    membership = current_membership(request)
    rows = ConflictDeclaration.objects.filter(programme=membership.programme).select_related("declared_by")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    record_staff_view(request, {d.declared_by_id: d.declared_by for d in page}.values(), membership=membership)
    return render(request, "dpo/conflicts.html", {"page": page, "programme": membership.programme})
