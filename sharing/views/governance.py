"""The governance pages: the data-sharing agreement (current version, its history and what each
version changed, the propose form, the Caldicott Guardian's decision) and the programme's phase
(the scoping countdown, proposing the next phase, confirming, rejecting or withdrawing).

Thin: parse, authorise, call `sharing.agreements` / `sharing.phases`, render. The programme is the
one the person works in now; a proposal is named by id only to check it is the one the page
showed — another programme's, or a stale one, answers 404.

In scoping the phase page states the final report and what the purge keeps as they are when the
page is drawn (`sharing.leaving_scoping`), never as the proposer described them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.confirming import confirmation_page, confirmed
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing import agreements, phases, scoping_term
from sharing.closing import closing_blockers, closure_certificate
from sharing.forms_governance import (
    AgreementForm,
    JustifiedDecisionForm,
    PhaseChangeForm,
    ProposalForm,
)
from sharing.leaving_scoping import leaving_scoping
from sharing.models_scoping import Agreement, PhaseChange


def _programme(request) -> Programme:
    return current_membership(request).programme


def _message(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc.args[0] if exc.args else exc)


def _people_shown(rows) -> list:
    people = {}
    for row in rows:
        for person in (row.proposed_by, row.decided_by):
            if person is not None:
                people[person.pk] = person
    return list(people.values())


# --- the agreement -----------------------------------------------------------------------------
@for_perm(Perm.VIEW_GOVERNANCE)
def agreement(request):
    """The current version (or `?version=N` of this programme), every version, and what it changed."""
    programme = _programme(request)
    versions = list(Agreement.objects.filter(programme=programme)
                    .select_related("proposed_by", "decided_by", "based_on").order_by("-version"))
    current = scoping_term.current_agreement(programme)
    proposal = next((v for v in versions if v.status == "proposed"), None)
    shown = current or proposal
    if "version" in request.GET:
        shown = next((v for v in versions if str(v.version) == request.GET["version"]), None)
        if shown is None:
            raise Http404("No such version.")
    record_staff_view(request, _people_shown(versions), membership=current_membership(request))
    role = current_membership(request).role
    return render(request, "governance/agreement.html", {
        "programme": programme,
        "shown": shown,
        "summary": agreements.summary(shown) if shown else [],
        "difference": (agreements.agreement_difference(shown.based_on, shown)
                       if shown and shown.based_on else None),
        "current": current,
        "proposal": proposal,
        "versions": versions,
        "may_propose": role_has(role, Perm.PROPOSE_AGREEMENT_CHANGE) and proposal is None,
        "may_decide": proposal is not None and agreements.may_decide(proposal, request.user),
        "may_withdraw": proposal is not None and proposal.proposed_by_id == request.user.pk,
    })


@for_perm(Perm.PROPOSE_AGREEMENT_CHANGE)
def agreement_propose(request):
    programme = _programme(request)
    current = scoping_term.current_agreement(programme)
    if agreements.open_proposal(programme) is not None:
        messages.info(request, "A proposed version is already waiting for the Caldicott Guardian.")
        return redirect("governance:agreement")
    form = AgreementForm.starting_from(current, data=request.POST if request.method == "POST" else None,
                                       programme_id=programme.pk)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                new = agreements.propose_agreement(programme=programme, by=request.user,
                                                   values=form.agreement_values(),
                                                   change_reason=form.cleaned_data["change_reason"])
            except PermissionDenied as exc:
                raise Http404("No such page.") from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                # The action has committed; the Caldicott Guardian is told now (or when an enclosing
                # transaction commits), with the decision page's address only.
                send_on_commit("sharing.tell_deciders_of_agreement", new.pk,
                               request.build_absolute_uri(reverse("governance:agreement-decide")))
                messages.success(request, f"Version {new.version} proposed. It takes effect when the Caldicott "
                                          "Guardian confirms it.")
                return redirect(f"{reverse('governance:agreement')}?version={new.version}")
        status = 400
    return render(request, "governance/agreement_propose.html", {
        "form": form, "current": current,
        "next_version": (Agreement.objects.filter(programme=programme).count() + 1),
    }, status=status)


def _proposal_or_404(request, open_one):
    """The proposal the form names, if it is this programme's open one; else 404."""
    form = ProposalForm(request.POST)
    if open_one is None or not form.is_valid() or form.cleaned_data["proposal"] != open_one.pk:
        raise Http404("No such proposal.")
    return open_one


@for_perm(Perm.CONFIRM_AGREEMENT_CHANGE)
def agreement_decide(request):
    programme = _programme(request)
    proposal = agreements.open_proposal(programme)
    form = JustifiedDecisionForm(request.POST if request.method == "POST" else None,
                                 initial={"proposal": proposal.pk if proposal else None})
    status = 200
    if request.method == "POST":
        _proposal_or_404(request, proposal)
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == "confirm":
                    agreements.confirm_agreement(agreement=proposal, by=request.user,
                                                 justification=form.cleaned_data["reason"])
                    messages.success(request, f"Version {proposal.version} confirmed: it is now the agreement.")
                else:
                    agreements.reject_agreement(agreement=proposal, by=request.user,
                                                justification=form.cleaned_data["reason"])
                    messages.success(request, f"Version {proposal.version} rejected.")
            except (PermissionDenied, ValidationError) as exc:
                form.add_error(None, _message(exc))
            else:
                return redirect(f"{reverse('governance:agreement')}?version={proposal.version}")
        status = 400
    if proposal is not None:
        record_staff_view(request, [proposal.proposed_by], membership=current_membership(request))
    return render(request, "governance/agreement_decide.html", {
        "form": form, "proposal": proposal,
        "summary": agreements.summary(proposal) if proposal else [],
        "difference": agreements.agreement_difference(proposal.based_on, proposal)
        if proposal and proposal.based_on else None,
        "may_decide": proposal is not None and agreements.may_decide(proposal, request.user),
    }, status=status)


@for_perm(Perm.PROPOSE_AGREEMENT_CHANGE)
@require_POST
def agreement_withdraw(request):
    proposal = _proposal_or_404(request, agreements.open_proposal(_programme(request)))
    if not confirmed(request):
        return confirmation_page(
            request, question=f"Are you sure you want to withdraw version {proposal.version} of the agreement?",
            consequences=["The proposed version will not come into force, and it can no longer be agreed. "
                          "To change the agreement, propose a new version."],
            button=f"Withdraw version {proposal.version}", cancel_url=reverse("governance:agreement"))
    try:
        agreements.withdraw_agreement(agreement=proposal, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, f"Version {proposal.version} withdrawn.")
    return redirect("governance:agreement")


# --- the phase -----------------------------------------------------------------------------------
def _phase_page(request, *, propose_form=None, decide_form=None, status=200):
    programme = _programme(request)
    membership = current_membership(request)
    change = phases.open_phase_change(programme)
    history = list(PhaseChange.objects.filter(programme=programme)
                   .select_related("proposed_by", "decided_by").order_by("-proposed_at", "-pk"))
    record_staff_view(request, _people_shown(history), membership=membership)
    following = phases.NEXT_PHASE.get(programme.phase)
    role = membership.role
    return render(request, "governance/phase.html", {
        "programme": programme,
        "countdown": phases.scoping_countdown(programme),
        "leaving": leaving_scoping(programme, change) if programme.phase == Phase.SCOPING else None,
        "closing_blockers": closing_blockers(programme) if programme.phase != Phase.CLOSED else [],
        "closure": closure_certificate(programme) if programme.phase == Phase.CLOSED else None,
        "next_phase": following,
        "change": change,
        "history": history,
        "may_propose": change is None and following is not None and role_has(role, Perm.PROPOSE_PHASE_CHANGE),
        "may_decide": change is not None and phases.may_decide_phase_change(change, request.user),
        "may_withdraw": change is not None and change.proposed_by_id == request.user.pk,
        "is_proposer": change is not None and change.proposed_by_id == request.user.pk,
        "propose_form": propose_form or PhaseChangeForm(),
        "decide_form": decide_form or JustifiedDecisionForm(initial={"proposal": change.pk if change else None}),
    }, status=status)


@for_perm(Perm.VIEW_GOVERNANCE)
def phase(request):
    return _phase_page(request)


@for_perm(Perm.PROPOSE_PHASE_CHANGE)
@require_POST
def phase_propose(request):
    form = PhaseChangeForm(request.POST)
    if form.is_valid():
        try:
            change = phases.propose_phase_change(
                programme=_programme(request), by=request.user, reason=form.cleaned_data["reason"],
                to_phase=form.cleaned_data["to_phase"] or None,
                no_final_report_kept=form.cleaned_data["no_final_report_kept"],
                portal_url=request.build_absolute_uri(reverse("governance:phase")))
        except ValidationError as exc:
            form.add_error(None, exc)  # keyed by the form's fields where the action names one
        except PermissionDenied as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, f"Moving to {change.get_to_phase_display().lower()} proposed. It happens when "
                                      "the Caldicott Guardian or another Trust lead confirms it.")
            return redirect("governance:phase")
    return _phase_page(request, propose_form=form, status=400)


@for_perm(Perm.CONFIRM_PHASE_CHANGE)
@require_POST
def phase_decide(request):
    change = _proposal_or_404(request, phases.open_phase_change(_programme(request)))
    form = JustifiedDecisionForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "confirm":
                phases.confirm_phase_change(change=change, by=request.user, justification=form.cleaned_data["reason"])
                messages.success(request, f"The programme is now in {change.get_to_phase_display().lower()}.")
            else:
                phases.reject_phase_change(change=change, by=request.user, justification=form.cleaned_data["reason"])
                messages.success(request, "The phase change is rejected.")
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, _message(exc))
        else:
            return redirect("governance:phase")
    return _phase_page(request, decide_form=form, status=400)


@for_perm(Perm.PROPOSE_PHASE_CHANGE)
@require_POST
def phase_withdraw(request):
    change = _proposal_or_404(request, phases.open_phase_change(_programme(request)))
    if not confirmed(request):
        return confirmation_page(
            request, question="Are you sure you want to withdraw the proposed phase change?",
            consequences=["The programme stays in its current phase, and the proposal can no longer be agreed. "
                          "To change phase, propose it again."],
            button="Withdraw the proposal", cancel_url=reverse("governance:phase"))
    try:
        phases.withdraw_phase_change(change=change, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "The phase change is withdrawn.")
    return redirect("governance:phase")
