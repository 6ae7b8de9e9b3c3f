"""The statutory powers page of the governance pages (issue 21, point 4): the powers the programme
may cite (seeded, and those confirmed), the ones waiting; a Trust lead proposes one, the Caldicott
Guardian confirms or rejects it. Thin: parse, call `sharing.statutory_powers`, render. A decision
names the waiting power by id only to check it is one of this programme's."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing import lawful_bases, statutory_powers
from sharing.forms_governance import JustifiedDecisionForm, PowerForm
from sharing.models_powers import StatutoryPower
from sharing.models_scoping import ChangeStatus


def _page(request, *, propose_form=None, decide_form=None, status=200):
    membership = current_membership(request)
    programme = membership.programme
    others = list(StatutoryPower.objects.filter(programme=programme).exclude(status=ChangeStatus.CONFIRMED)
                  .select_related("proposed_by", "decided_by").order_by("-proposed_at", "-pk"))
    confirmed = list(StatutoryPower.objects.confirmed(programme.pk).select_related("proposed_by", "decided_by"))
    waiting = [p for p in others if p.status == ChangeStatus.PROPOSED]
    people = {p.proposed_by_id: p.proposed_by for p in others + confirmed}
    people |= {p.decided_by_id: p.decided_by for p in others + confirmed if p.decided_by_id}
    record_staff_view(request, people.values(), membership=membership)
    return render(request, "governance/powers.html", {
        "programme": programme, "seeded": list(lawful_bases.SEEDED_POWERS.values()), "confirmed": confirmed,
        "waiting": [{"power": p, "may_decide": statutory_powers.may_decide(p, request.user)} for p in waiting],
        "past": [p for p in others if p.status != ChangeStatus.PROPOSED],
        "may_propose": role_has(membership.role, Perm.PROPOSE_AGREEMENT_CHANGE),
        "propose_form": propose_form or PowerForm(), "decide_form": decide_form or JustifiedDecisionForm(),
    }, status=status)


@for_perm(Perm.VIEW_GOVERNANCE)
def powers(request):
    return _page(request)


@for_perm(Perm.PROPOSE_AGREEMENT_CHANGE)
@require_POST
def propose(request):
    form = PowerForm(request.POST)
    if form.is_valid():
        try:
            power = statutory_powers.propose_power(programme=current_membership(request).programme, by=request.user,
                                                   label=form.cleaned_data["label"],
                                                   justification=form.cleaned_data["justification"])
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        except PermissionDenied as exc:
            raise Http404("No such page.") from exc
        else:
            messages.success(request, f"\u201c{power.label}\u201d proposed. It can be cited once the Caldicott "
                                      "Guardian confirms it.")
            return redirect("governance:powers")
    return _page(request, propose_form=form, status=400)


@for_perm(Perm.CONFIRM_AGREEMENT_CHANGE)
@require_POST
def decide(request):
    programme = current_membership(request).programme
    proposal = request.POST.get("proposal", "")
    power = StatutoryPower.objects.filter(programme=programme, status=ChangeStatus.PROPOSED,
                                          pk=proposal if str(proposal).isdigit() else None).first()
    if power is None:
        raise Http404("No such power waiting.")
    form = JustifiedDecisionForm(request.POST)
    if form.is_valid():
        confirm = form.cleaned_data["decision"] == "confirm"
        try:
            statutory_powers.decide_power(power=power, by=request.user, confirm=confirm,
                                          justification=form.cleaned_data["reason"])
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, f"\u201c{power.label}\u201d {'confirmed: it can be cited now' if confirm else 'rejected'}.")
            return redirect("governance:powers")
    return _page(request, decide_form=form, status=400)
