"""A person's roles, for system administrators: grant one, change one, revoke one (issue 24).

Each page calls the action that the commands call too (`actions.request_role`,
`role_changes.change_role`, `actions.revoke_role`), so the rules are the actions': lead, DPO and
Caldicott grants wait for a second person, nobody grants themselves a role, and a role that ends
ends the person's sessions and their caseload in that programme. Ending a role, or changing it,
is shown on a confirmation page first."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import SECOND_PERSON_ROLES, Perm
from sharing import actions
from sharing.forms_people import ChangeRoleForm, GrantRoleForm
from sharing.role_changes import change_role
from sharing.views.people import handover_url

WAITS = "It starts when a second person (another system administrator or the programme's Caldicott Guardian) confirms it."


def _message(exc: Exception) -> str:
    return "; ".join(getattr(exc, "messages", None) or [str(exc.args[0] if exc.args else exc)])


def _current_role_or_404(pk: int) -> Membership:
    """A role someone holds or awaits; one that has ended is no longer there to change or end."""
    return get_object_or_404(
        Membership.objects.select_related("person", "person__organisation", "programme")
        .filter(status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]), pk=pk)


@for_perm(Perm.MANAGE_PEOPLE)
def grant(request, pk: int):
    person = get_object_or_404(Person.objects.select_related("organisation"), pk=pk, is_active=True)
    form = GrantRoleForm(request.POST if request.method == "POST" else None, person=person)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            membership = actions.request_role(person=person, programme=form.cleaned_data["programme"],
                                              role=form.cleaned_data["role"], by=request.user)
        except (PermissionDenied, ValidationError) as exc:
            refusal = _message(exc)
        else:
            said = f"{person.full_name} is granted {membership.get_role_display()} in {membership.programme.name}."
            if membership.status == MembershipStatus.PENDING:
                said = f"{person.full_name}'s {membership.get_role_display()} role in {membership.programme.name} " \
                       f"is waiting for confirmation. {WAITS}"
            messages.success(request, said)
            return redirect("people:person", person.pk)
    record_staff_view(request, [person])
    return render(request, "people/grant.html", {"person": person, "form": form, "refusal": refusal})


@for_perm(Perm.MANAGE_PEOPLE)
def change(request, pk: int):
    """Choose the new role, then confirm the change on a page that says what it ends."""
    membership = _current_role_or_404(pk)
    form = ChangeRoleForm(request.POST if request.method == "POST" else None, membership=membership)
    refusal = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirmed") == "yes":
            try:
                done = change_role(membership=membership, role=form.new_role, by=request.user,
                                   portal_url=handover_url(request))
            except (PermissionDenied, ValidationError) as exc:
                refusal = _message(exc)
            else:
                new = done.granted
                said = f"{membership.person.full_name} no longer holds {membership.get_role_display()} in " \
                       f"{membership.programme.name}; "
                said += (f"their new role, {new.get_role_display()}, is waiting for confirmation. {WAITS}"
                         if done.waits_for_confirmation else f"they are now {new.get_role_display()}.")
                messages.success(request, said)
                return redirect("people:person", membership.person_id)
        if refusal is None:
            record_staff_view(request, [membership.person])
            return render(request, "people/change_confirm.html", {
                "membership": membership, "person": membership.person, "new_role": form.new_role,
                "waits": form.new_role in SECOND_PERSON_ROLES,
            })
    record_staff_view(request, [membership.person])
    return render(request, "people/change.html", {"membership": membership, "person": membership.person,
                                                  "form": form, "refusal": refusal})


@for_perm(Perm.MANAGE_PEOPLE)
def revoke(request, pk: int):
    membership = _current_role_or_404(pk)
    refusal = None
    if request.method == "POST":
        try:
            done = actions.revoke_role(membership=membership, by=request.user, portal_url=handover_url(request))
        except (PermissionDenied, ValidationError) as exc:
            refusal = _message(exc)
        else:
            messages.success(
                request, f"{membership.person.full_name} no longer holds {membership.get_role_display()} in "
                         f"{membership.programme.name}. {done.sessions_ended} session(s) ended; "
                         f"{done.assignments_ended} caseload assignment(s) ended.")
            return redirect("people:person", membership.person_id)
    record_staff_view(request, [membership.person])
    return render(request, "people/revoke.html", {"membership": membership, "person": membership.person,
                                                  "pending": membership.status == MembershipStatus.PENDING,
                                                  "refusal": refusal})

