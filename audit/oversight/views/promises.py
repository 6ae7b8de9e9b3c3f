"""The promises page for the DPO and the Caldicott Guardian (issue 23, point 7; ADR 46): each
promise of the privacy notice, the control that enforces it and the latest evidence the portal
holds, marked current, stale, missing or failing. Every other role: 404. Each view is recorded."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit.oversight.promises import promises_of
from eligibility.disclosure import record_disclosure
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


@for_perm(Perm.VIEW_PROMISES)
@require_safe
def promises_page(request):
    membership = current_membership(request)
    rows = promises_of(membership.programme, timezone.now())
    record_disclosure(request.user, membership=membership, page=request.path, reason="promises page viewed")
    return render(request, "dpo/promises.html", {"programme": membership.programme, "rows": rows})
