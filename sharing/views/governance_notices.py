"""The privacy notices page of the governance pages (issue 21, point 5): each notice's version in
force and the version waiting for confirmation; a Trust lead publishes the Trust's notice and a
Pause lead Pause's; the second person confirms or rejects. Thin: parse, call
`sharing.privacy_notices`, render. A decision names the waiting version by id only to check it is
one the page showed: another programme's, or a stale one, answers 404."""

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
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing import privacy_notices
from sharing.forms_governance import JustifiedDecisionForm, NoticeForm
from sharing.models_notices import Controller, PrivacyNotice
from sharing.models_scoping import ChangeStatus


def _page(request, *, publish_form=None, decide_form=None, status=200):
    membership = current_membership(request)
    programme = membership.programme
    mine = privacy_notices.publishable_by(request.user, programme)
    rows = []
    for controller in Controller:
        waiting = privacy_notices.waiting_notice(programme, controller)
        rows.append({
            "controller": controller,
            "in_force": privacy_notices.notice_in_force(programme, controller),
            "waiting": waiting,
            "may_decide": waiting is not None and privacy_notices.may_decide(waiting, request.user),
            "may_publish": waiting is None and mine == controller,
            "may_withdraw": waiting is not None and waiting.proposed_by_id == request.user.pk,
            "confirmers": privacy_notices.CONFIRMERS_IN_WORDS[controller],
        })
    record_staff_view(request, {r["waiting"].proposed_by_id: r["waiting"].proposed_by for r in rows if r["waiting"]}
                      .values(), membership=membership)
    return render(request, "governance/notices.html", {
        "programme": programme, "rows": rows, "trust": Controller.TRUST,
        "publish_form": publish_form or NoticeForm(), "decide_form": decide_form or JustifiedDecisionForm(),
    }, status=status)


@for_perm(Perm.VIEW_GOVERNANCE)
def notices(request):
    return _page(request)


@for_perm(Perm.PUBLISH_PRIVACY_NOTICE)
@require_POST
def publish(request):
    form = NoticeForm(request.POST)
    programme = current_membership(request).programme
    if form.is_valid():
        data = form.cleaned_data
        trust = privacy_notices.publishable_by(request.user, programme) == Controller.TRUST
        months = data["scoping_months"] if trust and data["scoping_months"] is not None else 3
        extension = data["scoping_extension_days"] if trust and data["scoping_extension_days"] is not None else 0
        try:
            notice = privacy_notices.publish_notice(programme=programme, by=request.user, text=data["text"],
                                                    change_reason=data["change_reason"], scoping_months=months,
                                                    scoping_extension_days=extension)
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{notice.label} published. It is in force once "
                                      f"{privacy_notices.CONFIRMERS_IN_WORDS[notice.controller]} confirms it.")
            return redirect("governance:notices")
    return _page(request, publish_form=form, status=400)


@for_perm(Perm.CONFIRM_PRIVACY_NOTICE)
@require_POST
def decide(request):
    programme = current_membership(request).programme
    form = JustifiedDecisionForm(request.POST)
    notice = PrivacyNotice.objects.filter(programme=programme, status=ChangeStatus.PROPOSED,
                                          pk=request.POST.get("proposal") if str(request.POST.get("proposal", "")
                                                                                 ).isdigit() else None).first()
    if notice is None:
        raise Http404("No such version waiting.")
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "confirm":
                privacy_notices.confirm_notice(notice=notice, by=request.user,
                                               justification=form.cleaned_data["reason"])
                messages.success(request, f"{notice.label} is in force.")
            else:
                privacy_notices.reject_notice(notice=notice, by=request.user,
                                              justification=form.cleaned_data["reason"])
                messages.success(request, f"{notice.label} is rejected.")
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            return redirect("governance:notices")
    return _page(request, decide_form=form, status=400)


@for_perm(Perm.PUBLISH_PRIVACY_NOTICE)
@require_POST
def withdraw(request):
    """Its publisher takes a waiting version back (to publish a corrected one)."""
    programme = current_membership(request).programme
    proposal = request.POST.get("proposal", "")
    notice = PrivacyNotice.objects.filter(programme=programme, status=ChangeStatus.PROPOSED,
                                          pk=proposal if str(proposal).isdigit() else None).first()
    if notice is None:
        raise Http404("No such version waiting.")
    if not confirmed(request):
        return confirmation_page(
            request, question=f"Are you sure you want to withdraw {notice.label}?",
            consequences=["This version will not come into force. To change the notice, publish a corrected "
                          "version."],
            button="Withdraw this version", cancel_url=reverse("governance:notices"))
    try:
        privacy_notices.withdraw_notice(notice=notice, by=request.user)
    except PermissionDenied:
        raise Http404("No such version waiting.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{notice.label} withdrawn: it will not come into force.")
    return redirect("governance:notices")
