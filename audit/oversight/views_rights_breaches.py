"""The breach register's pages, for the DPO: the register with each breach's 72-hour clock,
recording a breach, and one breach's page (whether and when the ICO and the people affected were
told; the women affected, by reference, and whether each was told or which Art. 34(3) exception
applies; closing it). Forms post back to the breach's page with an `action`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.core.models_rights import Breach
from audit.oversight import breaches
from audit.oversight.breach_reports import waiting_reports
from audit.oversight.forms_breach import WomanToldForm, WomenForm
from audit.oversight.forms_rights import BreachForm, ToldForm
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


def _breach_or_404(request, pk: int) -> Breach:
    membership = current_membership(request)
    found = Breach.objects.filter(pk=pk, programme_id=membership.programme_id).first() if membership else None
    if found is None:
        raise Http404("No such breach.")
    return found


@for_perm(Perm.KEEP_BREACH_REGISTER)
def register(request):
    programme = current_membership(request).programme
    return render(request, "rights/breaches.html", {
        "programme": programme, "waiting_reports": waiting_reports(programme.pk).count(), "breaches": breaches.views_of(list(breaches.register_of(programme.pk)), by=request.user, page=request.path)})


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_http_methods(["GET", "HEAD", "POST"])
def record(request):
    programme = current_membership(request).programme
    form, refusal = BreachForm(request.POST if request.method == "POST" else None), ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            breach = breaches.record_breach(
                programme=programme, what_happened=data["what_happened"], found_at=data["found_at"],
                happened_at=data["happened_at"], people_affected=data["people_affected"],
                affected_count=data["affected_count"], risk=data["risk"], actions_taken=data["actions_taken"],
                by=request.user)
        except breaches.BreachRefused as exc:
            refusal = exc.message
        else:
            messages.success(request, f"Breach {breach.reference} recorded.")
            return redirect("rights:breach", breach.pk)
    return render(request, "rights/breach_new.html", {"programme": programme, "form": form, "refusal": refusal},
                  status=400 if form.errors or refusal else 200)


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_http_methods(["GET", "HEAD", "POST"])
def breach(request, pk: int):
    found = _breach_or_404(request, pk)
    forms = {"ico": ToldForm(prefix="ico"), "people": ToldForm(prefix="people"), "women": WomenForm(prefix="women"),
             "woman": WomanToldForm(prefix="woman")}
    form_classes = {"ico": ToldForm, "people": ToldForm, "women": WomenForm, "woman": WomanToldForm}
    refusal, failed = "", None
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("ico", "people", "close", "women", "woman"):
            raise Http404("No such action.")
        if action != "close":
            failed = forms[action] = form_classes[action](request.POST, prefix=action)
        if failed is None or failed.is_valid():
            try:
                message = _act(found, action, failed.cleaned_data if failed else {}, request.user)
            except breaches.BreachRefused as exc:
                refusal = exc.message
            else:
                messages.success(request, message)
                return redirect("rights:breach", found.pk)
        found = _breach_or_404(request, pk)
    shown = breaches.views_of([found], by=request.user, page=request.path)
    if not shown:
        raise Http404("No such breach.")
    return render(request, "rights/breach.html", {"b": shown[0], "forms": forms, "refusal": refusal,
                                                   "failed": failed, "women": _women_forms(found, failed)},
                  status=400 if refusal or (failed is not None and failed.errors) else 200)


def _women_forms(found: Breach, failed) -> list[tuple]:
    """Each woman affected with her own form (its ids hers; the failed one keeps its errors)."""
    out = []
    for woman in found.affected_women.all():
        if isinstance(failed, WomanToldForm) and str(failed.data.get("woman-affected")) == str(woman.pk):
            form = failed
        else:
            form = WomanToldForm(prefix="woman", auto_id=f"woman-{woman.pk}-%s", initial={"affected": woman.pk})
        form.fields["outcome"].label = f"Was {woman.woman_reference} told?"
        out.append((woman, form))
    return out


def _act(found: Breach, action: str, data: dict, by) -> str:
    if action == "ico":
        breaches.record_ico(found, told_at=data["told_at"], reference=data.get("reference", ""),
                            not_told_reason=data.get("not_told_reason", "") if data["told_at"] is None else "",
                            late_reason=data.get("late_reason", ""), by=by)
        return "What was done about telling the ICO is recorded."
    if action == "people":
        breaches.record_people_told(found, told_at=data["told_at"],
                                    not_told_reason=data.get("not_told_reason", "") if data["told_at"] is None else "",
                                    by=by)
        return "What was done about telling the people affected is recorded."
    if action == "women":
        added = breaches.add_affected_women(found, references=data["references"], by=by)
        return f"{len(added)} {'woman' if len(added) == 1 else 'women'} affected linked."
    if action == "woman":
        affected = found.affected_women.filter(pk=data["affected"]).first()
        if affected is None:
            raise Http404("No such woman affected.")
        outcome = data["outcome"]
        breaches.record_woman_told(affected, told_on=data["told_day"] if outcome == "told" else None,
                                   exception="" if outcome == "told" else outcome, by=by)
        return "What was done about telling her is recorded."
    breaches.close_breach(found, by=by)
    return f"Breach {found.reference} closed."
