"""The rule set: its current values and versions, what each version changed, and the edit form.

Trust caseworkers and leads read it; only the Trust lead (Perm.EDIT_RULE_SET) edits it. An edit
never changes a version: `edit_rule_set` writes the next one, the rules then run again under it
(decisions are not touched), and the page shows what changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render

from eligibility.extract import codes
from eligibility.extract.codes import Position
from eligibility.forms_rules import CODE_FIELDS, RuleSetForm
from eligibility.models import RuleSet
from eligibility.recompute_jobs import request_recompute
from eligibility.rules import (
    CODE_LIST_LABELS,
    CODE_LISTS,
    SIGNAL_LABELS,
    Signal,
    current_rule_set,
    edit_rule_set,
    rule_set_difference,
)
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership


def _programme(request):
    return current_membership(request).programme


def _rule_set_or_404(request, pk: int) -> RuleSet:
    """Fetch and authorise in one step: another programme's rule set is no rule set."""
    rule_set = (RuleSet.objects.filter(pk=pk, programme=_programme(request))
                .select_related("based_on", "created_by").first())
    if rule_set is None:
        raise Http404("No such rule set.")
    return rule_set


def _summary(rule_set: RuleSet) -> list[dict]:
    """A version's rules for people: each code list's counted and review codes, then the rest."""
    rows = []
    for code_list in CODE_LISTS:
        positions = rule_set.positions.get(str(code_list), {})
        for position, label in ((Position.COUNTED, "count as a removal"), (Position.REVIEW, "are for review")):
            listed = [f"{c} ({codes.meaning(code_list, c)})" for c, p in positions.items() if p == position]
            rows.append({"label": f"{CODE_LIST_LABELS[code_list]} codes that {label}", "values": listed or ["None"]})
    signals = [SIGNAL_LABELS[Signal(s)] for s in rule_set.at_risk_signals]
    rows += [
        {"label": "Children removed for a woman to be eligible", "values": [str(rule_set.eligible_threshold)]},
        {"label": "With one child fewer, at risk when there is", "values": signals or ["Nothing (never at risk)"]},
        {"label": "Legal statuses that, with no end date, are open proceedings",
         "values": rule_set.open_proceedings_codes or ["None"]},
        {"label": "Look-back window", "values": [f"{rule_set.look_back_years} years"]},
        {"label": "Minimum age", "values": [str(rule_set.minimum_age)]},
    ]
    return rows


def _context(request, rule_set: RuleSet) -> dict:
    programme = _programme(request)
    membership = current_membership(request)
    versions = list(RuleSet.objects.filter(programme=programme).select_related("created_by").order_by("-version"))
    return {
        "rule_set": rule_set,
        "current": versions[0] if versions else rule_set,
        "summary": _summary(rule_set),
        "versions": versions,
        "difference": rule_set_difference(rule_set.based_on, rule_set) if rule_set.based_on else None,
        "may_edit": role_has(membership.role, Perm.EDIT_RULE_SET),
    }


@for_perm(Perm.DECIDE_ELIGIBILITY)
def rule_set_current(request):
    rule_set = current_rule_set(_programme(request))
    rule_set = RuleSet.objects.select_related("based_on", "created_by").get(pk=rule_set.pk)
    return render(request, "eligibility/rules.html", _context(request, rule_set))


@for_perm(Perm.DECIDE_ELIGIBILITY)
def rule_set_version(request, pk: int):
    return render(request, "eligibility/rules.html", _context(request, _rule_set_or_404(request, pk)))


@for_perm(Perm.EDIT_RULE_SET)
def rule_set_edit(request):
    programme = _programme(request)
    current = current_rule_set(programme)
    form = RuleSetForm.for_rule_set(current, data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                new = edit_rule_set(programme=programme, by=request.user, values=form.rule_values())
            except PermissionDenied as exc:
                raise Http404("No such page.") from exc
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                if new.pk == current.pk:
                    messages.info(request, "Nothing changed: the rules are the same as version "
                                           f"{current.version}, so no new version was made.")
                    return redirect("eligibility:rules")
                request_recompute(programme, by=request.user, why=f"rule set version {new.version}")
                messages.success(request, f"Version {new.version} of the rules made. The rules are running again "
                                          "over the programme's women in the background; no decision will be "
                                          "changed. The decision queue shows the new proposals when they finish.")
                return redirect("eligibility:rule-version", pk=new.pk)
        status = 400
    code_fields = [form[name] for name in CODE_FIELDS]
    return render(request, "eligibility/rules_edit.html", {
        "form": form, "current": current, "code_fields": code_fields,
        "number_fields": [form[n] for n in ("eligible_threshold", "look_back_years", "minimum_age")],
    }, status=status)
