"""The Trust lead's scoping release page: the women who can be released now (`releasable`), what
blocks a release, the release button, and what each release's k-check generalised or withheld
(counts and level names only)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render

from eligibility.models import Decision, Woman
from pause_portal.access import for_roles
from pseudonymisation.fields import Protector
from sharing.disclosure import disclose
from sharing.forms_scoping import ReleaseForm
from sharing.models import Phase
from sharing.models_scoping import ScopingRelease
from sharing.phases import scoping_deadline, scoping_is_open
from sharing.release_checks import release_blockers
from sharing.roles import Role
from sharing.scoping_release import (
    HIERARCHIES,
    QUASI_IDENTIFIERS,
    ScopingReleaseRefused,
    releasable_women,
    release_for_scoping,
    snapshot_counts,
)
from sharing.selectors import current_membership

COLUMN_LABELS = {"age_band": "Age band", "ethnic_group": "Ethnic group", "children_removed": "Children removed",
                 "removal_years": "Removal years"}


def _candidates(request, programme) -> list[dict]:
    """The women who can be released now, named through the disclosure policy (one entry)."""
    if programme.phase != Phase.SCOPING or not scoping_is_open(programme):
        return []
    women = list(releasable_women(programme))
    if not women:
        return []
    shown = disclose(request.user, women, page=request.path, reason="scoping release: women who can be released")
    visible = shown.fields.get(programme.pk, frozenset())
    protector = Protector.load(programme.pk, Woman.key_phase, create=False)
    latest = {d.woman_id: d for d in Decision.objects.filter(woman__in=shown.records).order_by("woman_id", "pk")}
    out = []
    for w in shown:
        names = [w.reveal(protector, f) for f in ("forename", "surname") if f in visible]
        decision = latest.get(w.pk)
        out.append({"pk": w.pk, "name": " ".join(n for n in names if n) or "Name not recorded",
                    "decision": decision.get_outcome_display() if decision else "",
                    "removed": len((decision.evidence or {}).get("children_removed") or []) if decision else 0})
    return out


def _described(report: dict) -> dict:
    """A check's report for the page: each quasi-identifier's level by name."""
    levels = report.get("levels") or {}
    return {
        "report": report,
        "levels": [(COLUMN_LABELS[c], (report.get("level_names") or {}).get(c, "all withheld"),
                    levels.get(c), len(HIERARCHIES[c]) - 1) for c in QUASI_IDENTIFIERS],
    }


@for_roles(Role.TRUST_LEAD)
def release_page(request):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    programme = current_membership(request).programme
    in_scoping = programme.phase == Phase.SCOPING
    is_open = in_scoping and scoping_is_open(programme)
    candidates = _candidates(request, programme)
    form = ReleaseForm(request.POST if request.method == "POST" else None, choices=[c["pk"] for c in candidates])
    refusal = None
    if request.method == "POST":
        if not is_open:
            refusal = ScopingReleaseRefused("Scoping releases are made only while scoping is open (before its deadline).")
        elif form.is_valid():
            women = list(Woman.objects.filter(programme=programme, pk__in=form.cleaned_data["women"]).order_by("pk"))
            try:
                release = release_for_scoping(programme, women, by=request.user)
            except ScopingReleaseRefused as exc:
                refusal = exc
            else:
                messages.success(request, f"{release.women} women released to Pause. The snapshot now serves "
                                          f"{release.report['served']} of {release.report['rows']} rows.")
                return redirect("scoping:release")
    releases = list(ScopingRelease.objects.filter(programme=programme).select_related("released_by").order_by("-pk"))
    for r in releases:
        r.described = _described(r.report)
        r.rechecks = [_described(c) for c in r.report.get("rechecks") or []]
    counts = snapshot_counts(programme)
    return render(request, "scoping/release.html", {
        "programme": programme, "in_scoping": in_scoping, "is_open": is_open,
        "deadline": scoping_deadline(programme), "blockers": release_blockers(programme) if is_open else [],
        "candidates": candidates, "form": form, "refusal": refusal, "releases": releases,
        "served": counts.get(False, 0), "withheld": counts.get(True, 0),
    }, status=200)
