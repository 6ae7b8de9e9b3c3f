"""The Caldicott Guardian's confirmation pages (issue 17): the decisions a DPO proposed that await
her (an erasure, an upheld objection), and one proposal's page, where she confirms or declines,
with her justification either way (it goes into the Caldicott log: ADR 45).

The page shows what she needs and no case record: the request's reference, how it was received
and how the requester's identity was checked, the ground, the DPO's assessment of the Art. 17(3)
exemptions, what would be erased (rows by kind of record, counted now) and what would be kept and
why. Reading it is logged (an entry naming the proposal and its request's reference).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from audit.core.models_rights import RightsProposal
from audit.oversight import proposals
from audit.oversight.rights import RightsRefused
from eligibility.disclosure import record_disclosure, record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.forms_governance import JustifiedDecisionForm


@for_perm(Perm.CONFIRM_RIGHTS_DECISIONS)
@require_safe
def confirmations(request):
    membership = current_membership(request)
    pending = list(proposals.pending_in(membership.programme_id))
    decided = list(RightsProposal.objects.filter(programme_id=membership.programme_id)
                   .exclude(status="pending").select_related("request", "proposed_by", "decided_by")[:50])
    record_staff_view(request, {p.proposed_by_id: p.proposed_by for p in pending + decided}.values(),
                      membership=membership)
    return render(request, "rights/confirmations.html", {"programme": membership.programme, "pending": pending,
                                                         "decided": decided})


def _proposal_or_404(request, pk: int) -> RightsProposal:
    membership = current_membership(request)
    found = (RightsProposal.objects.filter(pk=pk, programme_id=membership.programme_id)
             .select_related("request", "proposed_by", "decided_by").first() if membership else None)
    if found is None:
        raise Http404("No such proposal.")
    return found


@for_perm(Perm.CONFIRM_RIGHTS_DECISIONS)
@require_http_methods(["GET", "HEAD", "POST"])
def confirmation(request, pk: int):
    proposal = _proposal_or_404(request, pk)
    membership = current_membership(request)
    form = JustifiedDecisionForm(request.POST if request.method == "POST" else None, initial={"proposal": proposal.pk})
    refusal = ""
    if request.method == "POST":
        if form.is_valid() and form.cleaned_data["proposal"] != proposal.pk:
            raise Http404("No such proposal.")
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == "confirm":
                    proposals.confirm(proposal, by=request.user, justification=form.cleaned_data["reason"])
                    messages.success(request, f"Confirmed: request {proposal.request.reference} is carried out.")
                else:
                    proposals.decline(proposal, justification=form.cleaned_data["reason"], by=request.user)
                    messages.success(request, f"Declined: request {proposal.request.reference} stays open.")
            except RightsRefused as exc:
                refusal = exc.message
            else:
                return redirect("rights:confirmations")
        proposal = _proposal_or_404(request, pk)
    summary = proposals.proposal_summary(proposal)
    people = [p for p in (proposal.proposed_by, proposal.decided_by) if p is not None]
    record_disclosure(request.user, membership=membership, subjects=people, target=proposal, page=request.path,
                      reason=f"proposal #{proposal.pk} on rights request {proposal.request.reference} read for its "
                        "confirmation (no case record shown)")
    return render(request, "rights/confirmation.html", {
        "proposal": proposal, "summary": summary, "form": form, "refusal": refusal,
        "may_decide": proposal.status == "pending" and proposal.proposed_by_id != request.user.pk,
    }, status=400 if refusal or form.errors else 200)
