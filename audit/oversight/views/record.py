"""The record of processing for the DPO (issue 23, point 1; ADR 43): the Trust's record or Pause's
(`?controller=trust|pause`, the Trust's by default), as a page of GOV.UK summary lists and as a PDF.
An unknown controller, or a programme with no confirmed agreement, is answered with what is wrong
(400) and nothing else. Both name the programme's DPOs, so both record the staff shown."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from audit.oversight.record_files import as_pdf, grouped
from audit.oversight.record_of_processing import RecordRefused, record_of_processing
from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Membership, MembershipStatus
from pause_portal.tenancy.roles import Perm, Role
from pause_portal.tenancy.selectors import current_membership
from sharing.lawful_bases import CONTROLLERS


def _build(request):
    membership = current_membership(request)
    controller = request.GET.get("controller", "trust")
    try:
        record = record_of_processing(membership.programme, controller)
    except RecordRefused as exc:
        return membership, controller, None, exc.message
    dpos = Membership.objects.filter(programme=membership.programme, role=Role.DPO, status=MembershipStatus.ACTIVE)
    if controller == "trust":
        record_staff_view(request, [m.person for m in dpos.select_related("person")], membership=membership)
    return membership, controller, record, None


@for_perm(Perm.VIEW_RECORD_OF_PROCESSING)
@require_safe
def record_page(request):
    membership, controller, record, refusal = _build(request)
    return render(request, "dpo/record_of_processing.html", {
        "programme": membership.programme, "controller": controller, "controllers": CONTROLLERS.items(),
        "record": record, "sections": grouped(record) if record else [], "refusal": refusal,
    }, status=400 if refusal and controller not in CONTROLLERS else 200)


@for_perm(Perm.VIEW_RECORD_OF_PROCESSING)
@require_safe
def record_pdf(request):
    membership, controller, record, refusal = _build(request)
    if record is None:
        return render(request, "dpo/record_of_processing.html", {
            "programme": membership.programme, "controller": controller, "controllers": CONTROLLERS.items(),
            "record": None, "sections": [], "refusal": refusal}, status=400)
    response = HttpResponse(as_pdf(record), content_type="application/pdf")
    name = slugify(f"record of processing {controller} {membership.programme.name}")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response
