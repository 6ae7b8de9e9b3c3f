"""One released woman, for the Pause lead and her practitioner: her details (live, through the
disclosure policy), her children as delivery tokens, the casework (contact, concerns) and — for
the Pause lead — her place in the target group and her practitioner.

Fetch and authorise in one step: a woman not in this person's view now (another practitioner's,
another programme's, a closed programme's, restricted, withdrawn, or gone from view after a
decline) is 404, whatever permission row remains.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from eligibility.disclosure import disclose
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_role
from sharing import caseloads
from sharing.delivery_release import child_values
from sharing.forms_delivery import AssignForm, TargetForm
from sharing.models_delivery import ReleasedChild
from sharing.views.delivery_pause import practitioners
from sharing.views.delivery_rows import in_view, shown_women


def _lead_action(request, released, form: TargetForm | AssignForm):
    """Run the Pause lead's posted action; a redirect when done, None to show the form's errors."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        if isinstance(form, TargetForm):
            caseloads.set_target_position(released, position=data["position"], reason=data["reason"], by=request.user)
            messages.success(request, "Her place in the target group is saved.")
        elif data["practitioner"] is None:
            caseloads.unassign(released, by=request.user)
            messages.success(request, "She is no longer in anyone's caseload.")
        else:
            caseloads.assign(released, Person.objects.get(pk=data["practitioner"]), by=request.user)
            messages.success(request, "Her practitioner is saved.")
    except caseloads.CaseloadRefused as exc:
        form.add_error(None, exc.message)
        return None
    if isinstance(form, AssignForm) and request.POST.get("back") == "unassigned":
        return redirect("delivery:unassigned")
    if isinstance(form, AssignForm) and request.POST.get("back") == "list":
        page = request.POST.get("page", "")
        return redirect(reverse("delivery:women") + (f"?{urlencode({'page': page})}" if page.isdigit() else ""))
    return redirect("delivery:woman", pk=released.pk)


@for_perm(Perm.VIEW_RELEASED_WOMAN)
@require_http_methods(["GET", "HEAD", "POST"])
def woman(request, pk: int):
    released = in_view(request).filter(pk=pk).first()
    if released is None:
        raise Http404("No such woman.")
    assigns = role_has(current_role(request), Perm.ASSIGN_CASELOAD)  # the Pause lead
    choices = practitioners(released.programme) if assigns else []
    posted = request.POST if request.method == "POST" else None
    action = request.POST.get("action") if posted else None
    target_form = TargetForm(posted if action == "target" else None, auto_id="target-%s",
                             initial={"position": released.target_position})
    assign_form = AssignForm(posted if action == "assign" else None, practitioners=choices, auto_id="assign-%s",
                             initial={"practitioner": released.practitioner_now})
    if posted is not None:
        if not assigns:
            raise Http404("No such page.")
        if action not in ("target", "assign"):
            return HttpResponseBadRequest("Choose what to change: her place in the target group or her practitioner.")
        done = _lead_action(request, released, target_form if action == "target" else assign_form)
        if done is not None:
            return done
    shown = shown_women(request, [released], reason="woman page")
    if not shown:
        raise Http404("No such woman.")
    disclosed = disclose(request.user, ReleasedChild.objects.filter(released_woman=released).order_by("pk"),
                         page=request.path, reason="woman page: her children")
    children = disclosed.records
    # only what the agreement's delivery items serve (ADR 28)
    child_fields = disclosed.served[0].fields if children else frozenset()
    values = child_values(children, child_fields)
    return render(request, "delivery/woman.html", {
        "w": shown[0], "released": released, "children": [values[c.pk] for c in children], "child_fields": child_fields,
        "assigns": assigns,
        "target_form": target_form, "assign_form": assign_form,
        "errors": [f for f in (target_form, assign_form) if f.errors],
    }, status=400 if posted is not None else 200)
