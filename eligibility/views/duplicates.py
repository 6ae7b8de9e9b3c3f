"""Possible duplicates: the open proposals of the current programme, and one proposal's two
records side by side with the caseworker's decision. Trust caseworkers and leads only.

The list shows no personal data (proposal numbers, reasons, dates). The proposal page shows the
two women's identifiers, so it takes them through the disclosure policy, which records the
access; confirming records the decision only, it never merges records.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from eligibility import duplicates
from eligibility.disclosure import disclose, record_staff_view
from eligibility.forms import DuplicateDecisionForm
from eligibility.models import DuplicateProposal, DuplicateStatus
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

PER_PAGE = 50
SHOWN_FIELDS = (  # (field, label), in the order of the page
    ("trust_person_id", "Trust person ID"),
    ("forename", "First name"),
    ("surname", "Last name"),
    ("date_of_birth", "Date of birth"),
    ("nhs_number", "NHS number"),
)


def _programme(request):
    return current_membership(request).programme


def _proposal_or_404(request, pk: int) -> DuplicateProposal:
    """Fetch and authorise in one step: another programme's proposal is no proposal."""
    proposal = (
        DuplicateProposal.objects.filter(pk=pk, programme=_programme(request))
        .select_related("programme", "woman_a", "woman_b", "decided_by").first()
    )
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


@for_perm(Perm.DECIDE_ELIGIBILITY)
def duplicate_list(request):
    programme = _programme(request)
    proposals = DuplicateProposal.objects.filter(programme=programme, status=DuplicateStatus.OPEN)
    page = Paginator(proposals, PER_PAGE).get_page(request.GET.get("page"))
    decided = DuplicateProposal.objects.filter(programme=programme).exclude(status=DuplicateStatus.OPEN).count()
    return render(request, "eligibility/duplicates.html", {"page": page, "decided": decided})


@for_perm(Perm.DECIDE_ELIGIBILITY)
def duplicate_detail(request, pk: int):
    proposal = _proposal_or_404(request, pk)
    form = DuplicateDecisionForm(request.POST or None, auto_id="%s")
    status = 200
    if request.method == "POST":
        if proposal.status != DuplicateStatus.OPEN:
            form.is_valid()
            form.add_error(None, "This possible duplicate has already been decided")
        elif form.is_valid():
            decide = (duplicates.confirm_duplicate if form.cleaned_data["decision"] == "confirm"
                      else duplicates.reject_duplicate)
            try:
                decide(proposal=proposal, by=request.user, reason=form.cleaned_data["reason"])
            except PermissionDenied as exc:
                raise Http404("No such proposal.") from exc
            except ValidationError as exc:
                form.add_error(None, exc.messages[0])
            else:
                messages.success(request, _decided_message(form.cleaned_data["decision"]))
                return redirect("eligibility:duplicate", pk=proposal.pk)
        status = 400
    rows = _disclosed(request, proposal)
    if proposal.decided_by is not None:
        record_staff_view(request, [proposal.decided_by], membership=current_membership(request))
    return render(request, "eligibility/duplicate.html", {
        "proposal": proposal, "form": form, "rows": rows, "is_open": proposal.status == DuplicateStatus.OPEN,
    }, status=status)


def _decided_message(decision: str) -> str:
    if decision == "confirm":
        return "Recorded: these two records are the same woman. Nothing has been merged."
    return "Recorded: these two records are different women. They will not be proposed again."


def _disclosed(request, proposal: DuplicateProposal) -> list[dict]:
    """The two women's identifiers side by side, as the disclosure policy serves them (it records
    the access): only the fields the person's role may see."""
    shown = disclose(request.user, [proposal.woman_a, proposal.woman_b], page=request.path)
    if len(shown) != 2:
        raise Http404("No such proposal.")
    visible = shown.fields[proposal.programme_id]
    rows = []
    for name, label in SHOWN_FIELDS:
        if name in visible:
            rows.append({"label": label, "values": [_shown(name, w[name]) for w in shown]})
    if "in_latest_extract" in visible:
        rows.append({"label": "In the latest extract",
                     "values": ["Yes" if w["in_latest_extract"] else "No" for w in shown]})
    return rows


def _shown(name: str, value: str | None) -> str:
    if name == "date_of_birth":
        return presenting.day(value)
    if name == "nhs_number":
        return presenting.nhs_number(value)
    return presenting.text(value)
