"""A batch decision (issue 24, point 2), in three posted steps at one address:

1. the women ticked in the queue come here; a selection `check_selection` refuses (more than 25,
   mixed proposals, not proposed, restricted) shows the queue again with the error, nothing kept;
2. one decision and one reason for them all (`step=check`);
3. check your answers: every woman with her identifiers (served by `disclose`, one entry per page
   view) and her evidence summary, and a tick of her own that the person checked her
   (`step=confirm`); an unticked woman stops the batch. Confirming calls
   `eligibility.batch_decisions.decide_batch`: all or nothing, and if any woman changed since the
   check the page is shown again, saying which woman and why, with her tick cleared.

The reason travels in the posted forms only (never in an address or the session), and is stored
encrypted with each decision.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from eligibility.batch_decisions import (
    CHANGED,
    BatchRefused,
    changes_since,
    check_selection,
    decide_batch,
)
from eligibility.evaluations import standing
from eligibility.forms_batch import (
    BatchCheckForm,
    BatchDecisionForm,
    BatchSelectionForm,
    CheckExpired,
    read_check,
    sign_check,
    tick_field,
)
from eligibility.models import Decision, DecisionOutcome, Proposal, Woman
from eligibility.queue_rows import latest_run, queue_query
from eligibility.views.queue import identifiers_for, last_removal_text, queue_page
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


def _programme(request):
    return current_membership(request).programme


def _queue_url(request) -> str:
    query = queue_query(request.GET)
    return reverse("eligibility:queue") + (f"?{query}" if query else "")


@for_perm(Perm.DECIDE_ELIGIBILITY)
@require_POST
def batch(request):
    step = request.POST.get("step", "")
    if step in ("confirm", "change"):
        return _confirm_or_change(request, change=step == "change")
    selection_form = BatchSelectionForm(request.POST)
    selection_form.is_valid()
    selection = check_selection(_programme(request), selection_form.chosen_pks())
    if selection.problems or selection_form.errors:
        for problem in selection.problems:
            selection_form.add_error("women", problem)
        selection_form.row_problems = selection.by_woman
        return queue_page(request, selection=selection_form, status=400)
    form = BatchDecisionForm(request.POST if step == "check" else None, count=len(selection.pks))
    if step == "check" and form.is_valid():
        return _check_page(request, selection, form.cleaned_data["outcome"], form.cleaned_data["reason"])
    return _decision_page(request, selection.pks, form, status=400 if form.errors else 200)


def _women(request, pks: list[int]) -> list[Woman]:
    return list(Woman.objects.filter(programme=_programme(request), pk__in=pks).order_by("pk"))


def _decision_page(request, pks: list[int], form, *, status: int = 200):
    women = _women(request, pks)
    shown = identifiers_for(request, women)
    return render(request, "eligibility/batch_decide.html", {
        "form": form, "women": [{"pk": w.pk, "shown": shown.get(w.pk)} for w in women],
        "queue_url": _queue_url(request), "query": queue_query(request.GET),
    }, status=status)


def _summaries(request, women: list[Woman], run) -> list[dict]:
    """Each woman's identifiers and evidence summary, as the check page shows them."""
    shown = identifiers_for(request, women)
    evaluations = {e.woman_id: e for e in standing(run).filter(woman__in=women)} if run else {}
    current = {}
    for d in Decision.objects.filter(woman__in=women).order_by("woman_id", "pk"):
        current[d.woman_id] = d  # the last, by pk, is her current decision
    rows = []
    for w in women:
        e = evaluations.get(w.pk)
        rows.append({
            "pk": w.pk, "shown": shown.get(w.pk), "evaluation": e, "current": current.get(w.pk),
            "last_removal": last_removal_text(e.evidence.get("last_removal")) if e else "None",
        })
    return rows


def _check_page(request, selection, outcome: str, reason: str, *, data=None, refusal=None,
                ticked: set[int] = frozenset(), status: int = 200):
    """Check your answers, with a new check of each woman's state now. `data`: the ticks as
    posted (shown again with an error beside each one missing); else `ticked` are shown ticked."""
    programme = _programme(request)
    run = latest_run(programme)
    rows = _summaries(request, _women(request, selection.pks), run)
    names = {r["pk"]: (r["shown"] or {}).get("name") or f"woman {r['pk']}" for r in rows}
    check = sign_check(by=request.user, outcome=outcome, reason=reason,
                       checked={pk: s.as_checked() for pk, s in selection.states.items()})
    if data is not None:
        data = data.copy()
        data["check"] = check
        form = BatchCheckForm(data, names=names)
        form.is_valid()
    else:
        form = BatchCheckForm(names=names, ticked=ticked, initial={"check": check})
    if refusal is None and selection.problems:  # say at once what would stop it
        refusal = BatchRefused("These women cannot be decided together as they are now.",
                               problems=selection.problems, by_woman=selection.by_woman)
    by_woman = refusal.by_woman if refusal is not None else {}
    for r in rows:
        r["tick"] = form[tick_field(r["pk"])]
        r["why"] = by_woman.get(r["pk"])
    if refusal is not None:  # which woman and why, by her name as served
        refusal = {"message": refusal.message,
                   "problems": [*refusal.problems, *(f"{names.get(pk, f'woman {pk}')}: {why}"
                                                     for pk, why in sorted(by_woman.items()))]}
    return render(request, "eligibility/batch_check.html", {
        "form": form, "rows": rows, "outcome_label": DecisionOutcome(outcome).label,
        "proposal_label": dict(Proposal.choices).get(selection.proposal, ""), "reason": reason,
        "refusal": refusal, "queue_url": _queue_url(request), "query": queue_query(request.GET),
        "count": len(rows),
    }, status=status)


def _confirm_or_change(request, *, change: bool):
    programme = _programme(request)
    try:
        content = read_check(request.POST.get("check", ""), by=request.user)
    except CheckExpired as expired:
        selection = check_selection(programme, list(expired.content["women"]))
        refusal = BatchRefused("More than 2 hours passed since your check: nothing was recorded. "
                               "Check each woman again.")
        return _check_page(request, selection, expired.content["outcome"], expired.content["reason"],
                           refusal=refusal, status=400)
    if content is None:
        messages.error(request, "That check could not be read: nothing was recorded. Choose the women again.")
        return redirect(_queue_url(request))
    checked, outcome, reason = content["women"], content["outcome"], content["reason"]
    selection = check_selection(programme, list(checked))
    if change:
        form = BatchDecisionForm(initial={"outcome": outcome, "reason": reason}, count=len(checked))
        return _decision_page(request, selection.pks, form)
    changed = changes_since(checked, selection.states)
    if changed or not all(request.POST.get(tick_field(pk)) for pk in checked):
        data = request.POST.copy()
        for pk in changed:  # what was ticked is no longer what she is: check her again
            data.pop(tick_field(pk), None)
        return _check_page(request, selection, outcome, reason, data=data, status=409 if changed else 400,
                           refusal=BatchRefused(CHANGED, by_woman=changed) if changed else None)
    try:
        decisions = decide_batch(programme=programme, checked=checked, by=request.user, outcome=outcome,
                                 reason=reason)
    except PermissionDenied as exc:
        raise Http404("No such page.") from exc
    except (BatchRefused, ValidationError) as exc:
        refusal = exc if isinstance(exc, BatchRefused) else BatchRefused(exc.messages[0])
        changed = set(refusal.by_woman)
        return _check_page(request, selection, outcome, reason, refusal=refusal,
                           ticked={pk for pk in checked if pk not in changed}, status=409)
    label = DecisionOutcome(outcome).label.lower()
    messages.success(request, f"{len(decisions)} decisions recorded: {label}. Each woman has her own decision, "
                              "with your reason.")
    return redirect(_queue_url(request))
