"""The Trust lead's scoping release, made on purpose in three pages (issue 16, point 5):

1. `release_page` (/scoping/release/): the women who can be released now, none of them ticked.
   She ticks the women to release, or asks for every woman who can be released (`choose=all`, a
   button of its own: no JavaScript). The choice is kept in her session; nothing is written.
2. `release_check` (/scoping/release/check/, GET): check your answers. How many women, what the
   k-check would do (`preview_release` makes the release and rolls it back) and exactly what Pause
   would see: each served combination of values with the number of women sharing it, and the
   summary tables as Pause's pages would show them.
3. `release_check` (POST): she confirms and `release_for_scoping` makes the release. The form
   carries the women the page showed and a digest of what it showed; a release that would now
   differ (someone released or removed women meanwhile, or a woman can no longer be released) is
   rolled back and refused, and she goes back to check or to choose again.

The release page also shows what blocks a release and what each release's k-check generalised or
withheld (counts and level names only)."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from eligibility.disclosure import disclose
from eligibility.models import Decision, Woman
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.forms_scoping import ConfirmReleaseForm, ReleaseForm
from sharing.models_scoping import ScopingRelease, ScopingWomanRow
from sharing.release_checks import release_blockers
from sharing.release_preview import ReleasePreview, preview_release
from sharing.scoping_release import (
    COLUMN_LABELS,
    HIERARCHIES,
    K,
    ScopingReleaseRefused,
    agreed_columns,
    releasable_women,
    release_for_scoping,
    served_columns,
    snapshot_counts,
    why_not_releasable,
)
from sharing.scoping_term import scoping_deadline, scoping_is_open

CHOICE = "scoping_release_choice"  # session: {"programme": pk, "women": [pk, ...], "all": bool}
# session, read once: {"message": str, "problems": [str, ...], "stale": [[pk, why], ...]} (no names:
# the session is stored in the database as it is; the page names the stale women when it shows them)
REFUSAL = "scoping_release_refusal"


def _is_open(programme) -> bool:
    return programme.phase == Phase.SCOPING and scoping_is_open(programme)


def _label(column: str) -> str:
    return COLUMN_LABELS.get(column, column.replace("_", " ").capitalize())


def served_columns_in_words(programme) -> str:
    """"age band, ethnic group, children removed and removal years": the columns the agreement's
    scoping items serve beside a scoping token (`agreed_columns`, never a list kept here)."""
    words = [_label(c).lower() for c in agreed_columns(programme)]
    if not words:
        return "nothing"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _named(request, programme, women, *, reason: str) -> list[dict]:
    """The women, named through the disclosure policy (one entry), with her latest decision."""
    shown = disclose(request.user, women, page=request.path, reason=reason)
    latest = {d.woman_id: d for d in Decision.objects.filter(woman__in=shown.records).order_by("woman_id", "pk")}
    out = []
    for w in shown:
        decision = latest.get(w.pk)
        out.append({"pk": w.pk, "name": presenting.name(w.get("forename"), w.get("surname")),
                    "decision": decision.get_outcome_display() if decision else "",
                    "removed": len((decision.evidence or {}).get("children_removed") or []) if decision else 0})
    return out


def _described(report: dict) -> dict:
    """A check's report for a page: each served column's level by name. A column served now that
    an older check did not cover says so."""
    levels = report.get("levels") or {}
    names = report.get("level_names") or {}
    columns = [*served_columns(), *(c for c in levels if c not in served_columns())]
    rows = []
    for c in columns:
        hierarchy = HIERARCHIES.get(c)
        if c in names:
            name = names[c]
        else:
            name = "not in the check then" if levels else "all withheld"
        rows.append((_label(c), name, levels.get(c), len(hierarchy) - 1 if hierarchy else None))
    limit = report.get("withheld_limit")
    return {"report": report, "levels": rows,
            "limit": f"{float(Fraction(limit) * 100):g}%" if limit else None}


# --- the choice, carried between the pages in her session ------------------------------------
def _choice(request, programme) -> dict | None:
    choice = request.session.get(CHOICE)
    return choice if choice and choice.get("programme") == programme.pk and choice.get("women") else None


def _keep_choice(request, programme, women: list[int], *, chose_all: bool = False) -> None:
    request.session[CHOICE] = {"programme": programme.pk, "women": sorted(women), "all": chose_all}


def _refuse_later(request, refusal: ScopingReleaseRefused, stale: list[tuple[int, str]] = ()) -> None:
    """Show the refusal on the next page (after a redirect)."""
    request.session[REFUSAL] = {"message": refusal.message, "problems": list(refusal.problems),
                                "stale": [list(s) for s in stale]}


def _refusal_kept(request, programme) -> dict | None:
    """The refusal a redirect brought, with each woman who can no longer be released named
    (through the disclosure policy) beside the reason."""
    refusal = request.session.pop(REFUSAL, None)
    if refusal and refusal.get("stale"):
        why = dict((pk, reason) for pk, reason in refusal["stale"])
        named = _named(request, programme, Woman.objects.filter(programme=programme, pk__in=why).order_by("pk"),
                       reason="scoping release: women chosen who can no longer be released")
        refusal["problems"] = [*(f"{n['name']}: {why[n['pk']]}" for n in named), *refusal["problems"]]
    return refusal


def _why_stale(programme, pks: set[int]) -> list[tuple[int, str]]:
    """Why each of these women, chosen on the check page, cannot be released now."""
    in_snapshot = set(ScopingWomanRow.objects.filter(programme=programme, woman_id__in=pks)
                      .values_list("woman_id", flat=True))
    out = []
    for woman in Woman.objects.filter(programme=programme, pk__in=pks).order_by("pk"):
        out.append((woman.pk, "already in the scoping release" if woman.pk in in_snapshot
                    else why_not_releasable(woman)))
    return out


def _choose_again() -> str:
    return reverse("scoping:release") + "?change=1"


def _snapshot_state(programme) -> dict:
    """What the snapshot is now: every release makes a ScopingRelease and every removal adds a
    re-check to the latest one, so these two numbers change whenever the snapshot does."""
    latest = ScopingRelease.objects.filter(programme=programme).order_by("-pk").first()
    return {"release": latest.pk if latest else None,
            "rechecks": len(latest.report.get("rechecks") or []) if latest else 0}


def answers_digest(state: dict, women: list[int], report: dict) -> str:
    """A digest of what the check page showed: the snapshot it was worked out on, the women, and
    the check's report. The confirmation is refused unless the release made now matches it."""
    answers = {"snapshot": state, "women": sorted(women), "report": report}
    return hashlib.sha256(json.dumps(answers, sort_keys=True, default=str).encode()).hexdigest()


class _ChangedSinceChecked(Exception):
    pass


# --- the pages ----------------------------------------------------------------------------------
@for_perm(Perm.RELEASE_TO_PAUSE)
@require_http_methods(["GET", "HEAD", "POST"])
def release_page(request):
    """Choose the women to release (none ticked unless she came back to change her own choice)."""
    programme = current_membership(request).programme
    in_scoping = programme.phase == Phase.SCOPING
    is_open = _is_open(programme)
    refusal = _refusal_kept(request, programme)
    releasable = list(releasable_women(programme).values_list("pk", flat=True)) if is_open else []
    form = ReleaseForm(request.POST if request.method == "POST" else None, choices=releasable)
    ticked: set[int] = set()
    if request.method == "POST":
        if not is_open:
            refusal = ScopingReleaseRefused("Scoping releases are made only while scoping is open (before its deadline).")
        elif form.is_valid():
            _keep_choice(request, programme, form.cleaned_data["women"], chose_all=form.chose_all)
            return redirect("scoping:release-check")
        else:
            ticked = {int(pk) for pk in request.POST.getlist("women") if pk.isdigit()}
    elif "change" in request.GET and (choice := _choice(request, programme)):
        ticked = set(choice["women"])  # her own choice, brought back to change it
    candidates = []
    if releasable:
        candidates = _named(request, programme, Woman.objects.filter(pk__in=releasable).order_by("pk"),
                            reason="scoping release: women who can be released")
    for c in candidates:
        c["checked"] = c["pk"] in ticked
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
        "columns_in_words": served_columns_in_words(programme), "k": K,
    }, status=200)


@for_perm(Perm.RELEASE_TO_PAUSE)
@require_http_methods(["GET", "HEAD", "POST"])
def release_check(request):
    """Check your answers (GET), then confirm and release (POST)."""
    programme = current_membership(request).programme
    if not _is_open(programme):
        request.session.pop(CHOICE, None)
        return redirect("scoping:release")  # which says why nothing can be released
    if request.method == "POST":
        return _confirm(request, programme)
    choice = _choice(request, programme)
    if choice is None:
        return redirect("scoping:release")
    women = list(Woman.objects.filter(programme=programme, pk__in=choice["women"]).order_by("pk"))
    try:
        if len(women) != len(choice["women"]):
            raise ScopingReleaseRefused("A woman chosen is no longer in this programme's records: choose again.")
        preview = preview_release(programme, women, by=request.user)
    except ScopingReleaseRefused as exc:
        _refuse_later(request, exc)
        return redirect(_choose_again())
    ids = [w.pk for w in women]
    named = _named(request, programme, women, reason="scoping release: check your answers before releasing")
    form = ConfirmReleaseForm(initial={"checked": answers_digest(_snapshot_state(programme), ids, preview.report)})
    return render(request, "scoping/release_check.html", {
        "programme": programme, "women": ids, "named": named, "chose_all": choice.get("all", False),
        "preview": preview, "described": _described(preview.report), "form": form,
        "refusal": _refusal_kept(request, programme), "combinations": _combinations(preview),
        "columns_in_words": served_columns_in_words(programme), "change_url": _choose_again(),
    })


def _combinations(preview: ReleasePreview) -> list[dict]:
    return [{"values": list(values), "women": count} for values, count in preview.combinations]


def _confirm(request, programme):
    releasable = list(releasable_women(programme).values_list("pk", flat=True))
    form = ConfirmReleaseForm(request.POST, choices=releasable)
    if not form.is_valid():
        shown = {int(pk) for pk in request.POST.getlist("women") if pk.isdigit()}
        stale = _why_stale(programme, shown - set(releasable))
        _keep_choice(request, programme, sorted(shown & set(releasable)))
        _refuse_later(request, ScopingReleaseRefused(
            "Nothing was released: some of the women you chose can no longer be released. Choose again."
            if stale else "Nothing was released: choose the women to release again."), stale)
        return redirect(_choose_again())
    ids = sorted(form.cleaned_data["women"])
    women = list(Woman.objects.filter(programme=programme, pk__in=ids).order_by("pk"))
    try:
        with transaction.atomic():
            list(Programme.objects.select_for_update().filter(pk=programme.pk))  # the snapshot holds still
            state = _snapshot_state(programme)
            release = release_for_scoping(programme, women, by=request.user)
            if answers_digest(state, ids, release.report) != form.cleaned_data["checked"]:
                raise _ChangedSinceChecked
    except ScopingReleaseRefused as exc:
        _keep_choice(request, programme, ids)
        _refuse_later(request, exc)
        return redirect(_choose_again())
    except _ChangedSinceChecked:
        _keep_choice(request, programme, ids)
        _refuse_later(request, ScopingReleaseRefused(
            "Nothing was released: the scoping release has changed since you checked your answers (women were "
            "released or removed meanwhile, or their records changed). Check what the release would do now."))
        return redirect("scoping:release-check")
    request.session.pop(CHOICE, None)
    messages.success(request, f"{release.women} wom{'a' if release.women == 1 else 'e'}n released to Pause. The "
                              f"snapshot now serves {release.report['served']} of {release.report['rows']} rows.")
    return redirect("scoping:release")
