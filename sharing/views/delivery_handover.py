"""The Pause lead's "Women who need a practitioner" (issue 22, point 8): the women whose
practitioner left or lost her role, until each is assigned to another (`sharing.handover`). Read
through the one reader gate and served by the disclosure policy (one audit entry per page); each
row's form posts to her page's assign action (`caseloads.assign`), which brings the lead back here.
"""

from __future__ import annotations

from django.shortcuts import render

from pause_portal.access import for_perm
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.forms_delivery import AssignForm
from sharing.handover import waiting
from sharing.views.delivery_pause import practitioners
from sharing.views.delivery_rows import in_view, shown_women


@for_perm(Perm.ASSIGN_CASELOAD)
def unassigned(request):
    programme = current_membership(request).programme
    shown = shown_women(request, waiting(in_view(request)), reason="women who need a practitioner")
    choices = practitioners(programme)
    for w in shown:
        w.assign_form = AssignForm(practitioners=choices, auto_id=f"assign-{w.pk}-%s", in_row_of=w.name)
    return render(request, "delivery/unassigned.html", {
        "programme": programme, "in_delivery": programme.phase == Phase.DELIVERY, "women": shown})
