"""People and role grants, for system administrators (and grants for Caldicott Guardians)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import AccountLinkPurpose, Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership, pending_grants_for
from sharing import actions


@for_perm(Perm.MANAGE_PEOPLE)
def people(request):
    memberships = Membership.objects.exclude(status=MembershipStatus.REVOKED).select_related("programme")
    rows = (
        Person.objects.select_related("organisation")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("organisation__name", "full_name")
    )
    rows = list(rows)
    record_staff_view(request, rows)
    return render(request, "people/people.html", {"people": rows})


def _person_or_404(pk: int) -> Person:
    return get_object_or_404(Person, pk=pk)


@for_perm(Perm.MANAGE_PEOPLE)
@require_POST
def deactivate(request, pk: int):
    person = _person_or_404(pk)
    try:
        actions.deactivate_person(person=person, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, str(exc.args[0] if exc.args else exc))
    else:
        messages.success(request, f"{person.full_name} is deactivated and signed out everywhere.")
    return redirect("people:list")


@for_perm(Perm.MANAGE_PEOPLE)
@require_POST
def issue_mfa_reset(request, pk: int):
    person = _person_or_404(pk)
    try:
        token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.MFA_RESET, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, str(exc.args[0] if exc.args else exc))
        return redirect("people:list")
    link = request.build_absolute_uri(reverse("accounts:account-link", args=[token]))
    # Shown once, to be passed on by a trusted channel; only its hash is stored.
    return render(request, "people/reset_link.html", {"person": person, "link": link})


@for_perm(Perm.CONFIRM_ROLE_GRANT)
def grants(request):
    grants = list(pending_grants_for(request.user))
    record_staff_view(request, [g.person for g in grants], membership=current_membership(request))
    return render(request, "people/grants.html", {"grants": grants})


@for_perm(Perm.CONFIRM_ROLE_GRANT)
def confirm_grant(request, pk: int):
    # Fetch-and-authorise in one step, before anything else: a grant this person may not confirm
    # looks exactly like no grant, whatever the method.
    membership = pending_grants_for(request.user).filter(pk=pk).first()
    if membership is None:
        raise Http404("No such grant.")
    return _confirm(request, membership)


@require_POST
def _confirm(request, membership):
    actions.confirm_role(membership=membership, by=request.user)
    messages.success(request, "Role confirmed.")
    return redirect("people:grants")
