"""The declared-conflicts register, for any member of staff with a programme role: declare
someone you know (by Trust person ID or NHS number, kept only as blind indexes), see and withdraw
your own declarations. Accessing a declared person's records raises a flag for the DPO."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from audit.core.models_review import ConflictDeclaration, ConflictKind, Relationship
from audit.oversight.forms_review import ConflictForm
from audit.oversight.review_actions import declare_conflict, withdraw_conflict
from pause_portal.access import for_perm
from pause_portal.confirming import confirmation_page, confirmed
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


@for_perm(Perm.DECLARE_CONFLICTS)
@require_http_methods(["GET", "HEAD", "POST"])
def declare(request):
    programme = current_membership(request).programme
    form = ConflictForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        declare_conflict(by=request.user, programme=programme, kind=ConflictKind(data["kind"]), value=data["value"],
                         relationship=Relationship(data["relationship"]))
        messages.success(request, "Your declaration has been recorded. Only its scrambled form is kept.")
        return redirect("conflicts:declare")
    own = ConflictDeclaration.objects.filter(programme=programme, declared_by=request.user)
    return render(request, "dpo/conflict_declare.html", {"form": form, "own": own, "programme": programme},
                  status=400 if form.errors else 200)


@for_perm(Perm.DECLARE_CONFLICTS)
def withdraw(request, pk: int):
    programme = current_membership(request).programme
    declaration = ConflictDeclaration.objects.filter(pk=pk, programme=programme, declared_by=request.user).first()
    if declaration is None:  # first: not yours is 404 whatever the method
        raise Http404("No such declaration.")
    return _withdraw(request, declaration)


@require_POST
def _withdraw(request, declaration: ConflictDeclaration):
    if not confirmed(request):
        return confirmation_page(
            request, question=f"Are you sure you want to withdraw declaration #{declaration.pk}?",
            consequences=["From now on, the data protection officer is no longer told when you open the records "
                          "it names. It stays on record, withdrawn; to declare it again, make a new declaration."],
            button="Withdraw the declaration", cancel_url=reverse("conflicts:declare"))
    withdraw_conflict(declaration, by=request.user)
    messages.success(request, "Your declaration has been withdrawn.")
    return redirect("conflicts:declare")
