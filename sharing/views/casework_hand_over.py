"""Handing a closed concern to the Trust's case record (issue 22, point 4): a Trust lead downloads
it as a document (a disclosure entry, through the disclosure policy) and, on a confirmation page,
marks it as filed (a `sharing.concern_hand_over` action, audited). Anyone else: 404 or 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from eligibility.disclosure import disclose
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from sharing.concern_hand_over import hand_over, hand_over_document, mark_filed
from sharing.models_delivery import ConcernStatus
from sharing.views.casework_common import concern_or_404


def _closed_concern_or_404(request, pk: int):
    concern, membership = concern_or_404(request, pk)
    if concern.status != ConcernStatus.CLOSED:
        raise Http404("No such closed concern.")
    return concern, membership


@for_perm(Perm.ANSWER_CONCERNS)
def download(request, pk: int):
    concern, _membership = _closed_concern_or_404(request, pk)
    return _download(request, concern)


@require_safe
def _download(request, concern):
    # The Trust lead is served the concern and, while her record is here, the Trust's own record of
    # her (for its person id): one disclosure entry naming both.
    woman = concern.released_woman.woman if concern.released_woman_id else None
    disclosed = disclose(request.user, [concern, *([woman] if woman else [])], page=request.path,
                         reason=f"casework: {concern.kind} #{concern.pk} downloaded for the Trust's case record")
    if not disclosed.records or disclosed.records[0] is not concern:
        raise Http404("No such concern.")
    served = list(disclosed)
    her = served[1] if len(served) > 1 else served[0]
    name, content = hand_over_document(hand_over(concern, served[0], trust_person_id=her.get("trust_person_id") or ""))
    response = HttpResponse(content, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@for_perm(Perm.ANSWER_CONCERNS)
def filed(request, pk: int):
    concern, _membership = _closed_concern_or_404(request, pk)
    return _filed(request, concern)


@require_http_methods(["GET", "HEAD", "POST"])
def _filed(request, concern):
    error = ""
    if request.method == "POST":
        try:
            mark_filed(concern, by=request.user)
        except PermissionDenied:
            raise Http404("No such concern.") from None
        except ValidationError as e:
            error = " ".join(e.messages)
        else:
            messages.success(request, f"{concern.get_kind_display()} marked as filed in the Trust's case record: "
                                      "Pause's retention may now remove it")
            return redirect("casework:concerns")
    shown = list(disclose(request.user, [concern], page=request.path,
                          reason=f"casework: {concern.kind} #{concern.pk} to mark as filed"))
    if not shown:
        raise Http404("No such concern.")
    return render(request, "casework/filed.html", {"concern": shown[0], "error": error,
                                                   "already": concern.filed_at is not None})
