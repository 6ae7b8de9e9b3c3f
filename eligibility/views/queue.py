"""The decision queue: the latest run's proposals for Trust caseworkers and leads; one woman's
evidence, decision history and decision form, with links to the women before and after her in the
queue's order; running the rules now; and what the latest run changed. Which rows, in which order,
is `eligibility.queue_rows`; choosing women for a batch decision is `eligibility.views.batch`, and
the queue as CSV `eligibility.views.queue_export`.

Names, dates of birth and Trust ids reach the page only through `eligibility.disclosure.disclose`,
for the rows shown (one audit entry per page view). Searching is posted (no identifier in an
address) and uses blind indexes only. The queue costs the same number of queries whatever the
number of rows.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.batch_decisions import BATCH_MAX
from eligibility.decisions import (
    RESTRICTED,
    decide,
    decision_history,
    is_restricted,
    latest_evaluation,
    re_review_pending,
)
from eligibility.disclosure import disclose, record_staff_view
from eligibility.engine import CHILD, CODE, DATE, END, EXTRACT, IN_WINDOW, LIST, POSITION, describe
from eligibility.evaluations import standing
from eligibility.extract.codes import CodeList
from eligibility.forms_batch import BatchSelectionForm
from eligibility.forms_queue import DecisionForm, FilterForm, SearchForm
from eligibility.identifiers import WOMAN_INDEX, search_terms
from eligibility.models import (
    Decision,
    DecisionOutcome,
    EvaluationRun,
    Proposal,
    ReReview,
    Woman,
)
from eligibility.queue_rows import (
    QUEUE_PARAMS,
    SORTS,
    filtered,
    filters_of,
    latest_run,
    neighbours,
    ordered,
    queue_query,
    queue_rows,
    sort_of,
)
from eligibility.recompute_jobs import request_recompute, unfinished_job
from eligibility.rules import POSITION_LABELS
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

PER_PAGE = 50
CHANGES_SHOWN = 100  # per kind of change, on the changes page
LIST_LABELS = {str(CodeList.LEGAL_STATUS): "Legal status", str(CodeList.EPISODE_CEASED): "Episode ceased"}


def _programme(request):
    return current_membership(request).programme


def _woman_or_404(request, pk: int) -> Woman:
    """Fetch and authorise in one step: another programme's woman is no woman."""
    woman = Woman.objects.filter(pk=pk, programme=_programme(request)).select_related("programme").first()
    if woman is None:
        raise Http404("No such woman.")
    return woman


def _searched(rows, search: tuple, programme):
    """The rows whose woman matches the search exactly, under any live blind-index key version
    (`eligibility.identifiers`: no key, or a value that cannot be normalised, finds nobody)."""
    kind, value = search
    return rows.filter(**{f"woman__{WOMAN_INDEX[kind]}__in": search_terms(programme, kind, value)})


WOMAN = Woman._meta.label_lower


def _presented(her) -> dict:
    """A served woman's identifiers as the page shows them."""
    values = {name: her.get(name) for name in ("trust_person_id", "forename", "surname", "date_of_birth",
                                               "nhs_number")}
    values["name"] = presenting.name(values["forename"], values["surname"])
    values["date_of_birth"] = presenting.day(values["date_of_birth"])
    values["nhs_number"] = presenting.nhs_number(values["nhs_number"])
    return values


def identifiers_for(request, women: list[Woman]) -> dict[int, dict]:
    """The shown women's identifiers as the disclosure policy serves them (one audit entry)."""
    if not women:
        return {}
    return {w.pk: _presented(w) for w in disclose(request.user, women, page=request.path)}


def _with_reasons(request, woman: Woman, history: list[Decision]) -> dict | None:
    """Her identifiers and her decisions' reasons, served in one disclosure (one entry naming her
    and the decisions shown); None if she is not served."""
    served = {(s.label, s.pk): s for s in disclose(request.user, [woman, *history], page=request.path)}
    her = served.get((WOMAN, woman.pk))
    if her is None:
        return None
    decision = Decision._meta.label_lower
    for d in history:
        d.reason_text = served[(decision, d.pk)].get("reason") or "" if (decision, d.pk) in served else ""
    return _presented(her)


@for_perm(Perm.DECIDE_ELIGIBILITY)
@require_http_methods(["GET", "HEAD", "POST"])
def queue(request):
    """GET lists the latest run's women by the filters; POST searches for one woman exactly
    (across every proposal and decision), showing the first page of matches."""
    return queue_page(request, searching=request.method == "POST")


def queue_page(request, *, searching: bool = False, selection=None, status: int = 200):
    """The queue as the query string filters, sorts and pages it. `selection` is a batch
    selection refused (`eligibility.views.batch`): its error is shown, and its women stay ticked."""
    programme = _programme(request)
    form = FilterForm(request.GET or None)
    data = filters_of(request.GET)
    search_form = SearchForm(request.POST if searching else None)
    search = search_form.cleaned_data["search"] if search_form.is_bound and search_form.is_valid() else None
    sort, descending = sort_of(request.GET)
    run = latest_run(programme)
    page, identifiers = None, {}
    if run is not None and not (search_form.is_bound and search is None):
        rows = _searched(queue_rows(run), search, programme) if search else filtered(queue_rows(run), data)
        rows = ordered(rows, sort, descending)
        page = Paginator(rows, PER_PAGE).get_page(1 if search else request.GET.get("page"))
        identifiers = identifiers_for(request, [e.woman for e in page.object_list])
        outcomes = dict(DecisionOutcome.choices)
        chosen = set(selection.chosen_pks()) if selection is not None else set()
        row_problems = getattr(selection, "row_problems", {})
        for e in page.object_list:
            e.shown = identifiers.get(e.woman_id)
            e.decision_label = outcomes.get(e.current_outcome, "")
            e.last_removal_text = last_removal_text(e.last_removal_on)
            e.chosen, e.batch_problem = e.woman_id in chosen, row_problems.get(e.woman_id, "")
    kept = {k: v for k, v in request.GET.items() if k not in ("page", "sort", "order") and v}
    sort_query = urlencode({**kept, "sort": sort, "order": "desc" if descending else "asc"})
    return render(request, "eligibility/queue.html", {
        "form": form, "search_form": search_form,
        "form_list": [f for f in (selection, search_form, form) if f is not None and f.errors],
        "run": run, "job": unfinished_job(programme), "page": page, "headers": _headers(kept, sort, descending),
        "filter_query": urlencode(kept), "sort_query": sort_query,
        "page_query": urlencode({**dict(request.GET.items()), "sort": sort, "order": "desc" if descending else "asc"}),
        "searched": search is not None, "selection": selection or BatchSelectionForm(),
        "batch_max": BATCH_MAX, "woman_query": queue_query(request.GET), "queue_params": {k: v for k, v in request.GET.items() if k in QUEUE_PARAMS},
    }, status=status)


def last_removal_text(value) -> str:
    # SQLite reads a JSON null through KeyTextTransform as the text "null".
    return presenting.day(value) if value not in (None, "", "null") else "None"


def _headers(kept: dict, sort: str, descending: bool) -> list[dict]:
    """Each sortable column's header: a link that sorts by it (again: the other way round)."""
    headers = []
    for name, (label, _) in SORTS.items():
        active = name == sort
        order = "asc" if active and descending else ("desc" if active else "asc")
        headers.append({
            "label": label, "url": "?" + urlencode({**kept, "sort": name, "order": order}),
            "aria_sort": ("descending" if descending else "ascending") if active else "none",
        })
    return headers


# --- one woman -----------------------------------------------------------------------------
@for_perm(Perm.DECIDE_ELIGIBILITY)
def woman_detail(request, pk: int):
    woman = _woman_or_404(request, pk)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decide(woman=woman, by=request.user, outcome=form.cleaned_data["outcome"],
                       reason=form.cleaned_data["reason"])
            except PermissionDenied as exc:
                raise Http404("No such woman.") from exc
            except ValidationError as exc:
                form.add_error(None if exc.messages[0] == RESTRICTED else "reason", exc.messages[0])
            else:
                label = DecisionOutcome(form.cleaned_data["outcome"]).label.lower()
                messages.success(request, f"Decision recorded: {label}")
                return redirect(_with_query(reverse("eligibility:woman", args=[woman.pk]), request.GET))
        status = 400
    evaluation = latest_evaluation(woman)
    history = list(decision_history(woman))
    identifiers = _with_reasons(request, woman, history)
    if identifiers is None:
        raise Http404("No such woman.")
    if history:
        form["outcome"].label = "Revise the decision"
    membership = current_membership(request)
    if history:
        record_staff_view(request, {d.decided_by for d in history}, membership=membership)
    return render(request, "eligibility/woman.html", {
        "woman": woman, "shown": identifiers, "evaluation": evaluation,
        "events": _events(evaluation.evidence) if evaluation else [],
        "history": list(reversed(history)), "current": history[-1] if history else None,
        "re_review": re_review_pending(woman), "form": form, "restricted": is_restricted(woman),
        "queue_url": _with_query(reverse("eligibility:queue"), request.GET),
        **_neighbour_links(woman, request.GET),
    }, status=status)


def _with_query(url: str, params) -> str:
    """`url` with the queue's filters and order from `params` (nothing else)."""
    query = queue_query(params)
    return f"{url}?{query}" if query else url


def _neighbour_links(woman: Woman, params) -> dict:
    """Links to the women before and after her in the queue, as its filters and order say. They
    name no one (no disclosure): "Previous woman" and "Next woman", by the page they open."""
    run = latest_run(woman.programme)
    if run is None:
        return {"previous_url": None, "next_url": None}
    before, after = neighbours(run, woman.pk, params)
    return {key: _with_query(reverse("eligibility:woman", args=[pk]), params) if pk else None
            for key, pk in (("previous_url", before), ("next_url", after))}


def _events(evidence: dict) -> list[dict]:
    """The evidence's events for people: children by reference, each code with its meaning."""
    removed, review = set(evidence.get("children_removed", [])), set(evidence.get("children_for_review", []))
    events = []
    for e in evidence.get("events", []):
        child = e[CHILD]
        events.append({
            "child": child,
            "child_status": "removed" if child in removed else "for review" if child in review else "",
            "list": LIST_LABELS.get(e[LIST], e[LIST]),
            "code": e[CODE],
            "meaning": describe(e[LIST], e[CODE]),
            "date": presenting.day(e[DATE]) if e[DATE] else "No date",
            "end": presenting.day(e[END]) if e[END] else "",
            "position": POSITION_LABELS.get(e[POSITION], e[POSITION]),
            "in_window": bool(e[IN_WINDOW]),
            "extract": e[EXTRACT],
        })
    return events


# --- running the rules now, and what changed ------------------------------------------------
@for_perm(Perm.DECIDE_ELIGIBILITY)
@require_POST
def run_rules(request):
    try:
        job = request_recompute(_programme(request), by=request.user, why="run now from the decision queue")
    except PermissionDenied as exc:
        raise Http404("No such page.") from exc
    messages.success(request, "The rules are running in the background. This page shows the new run when "
                              f"they finish (request #{job.pk}). No decision will be changed.")
    return redirect("eligibility:queue")


CHANGE_KINDS = (
    ("newly_proposed", "Newly proposed"),
    ("no_longer_proposed", "No longer proposed"),
    ("proposal_changed", "Proposal changed"),
    ("evidence_changed", "Evidence changed, same proposal"),
    ("marked_for_re_review", "Decisions to review again (their evidence changed)"),
)


def run_changes(run: EvaluationRun) -> dict[str, list[tuple[int, str | None, str]]]:
    """What changed from the run before to `run`, per kind: (woman pk, proposal before, after),
    by the same rules as `eligibility.recompute` (two reads of proposals, one of re-reviews)."""
    now = {w: (p, d) for w, p, d in standing(run).values_list(
        "woman_id", "proposal", "evidence_digest").iterator(chunk_size=10000)}
    before = {} if run.previous is None else {
        w: (p, d) for w, p, d in standing(run.previous).values_list(
            "woman_id", "proposal", "evidence_digest").iterator(chunk_size=10000)}
    out: dict[str, list] = {kind: [] for kind, _ in CHANGE_KINDS}
    not_proposed = str(Proposal.NOT_PROPOSED)
    for woman, (proposal, digest) in sorted(now.items()):
        was, was_digest = before.get(woman, (not_proposed, None))
        if was == not_proposed and proposal != not_proposed:
            out["newly_proposed"].append((woman, was if woman in before else None, proposal))
        elif was != not_proposed and proposal == not_proposed:
            out["no_longer_proposed"].append((woman, was, proposal))
        elif was != proposal:
            out["proposal_changed"].append((woman, was, proposal))
        elif was_digest is not None and was_digest != digest:
            out["evidence_changed"].append((woman, was, proposal))
    for woman in ReReview.objects.filter(run=run).order_by("woman_id").values_list("woman_id", flat=True):
        p = now.get(woman, (None, None))[0]
        out["marked_for_re_review"].append((woman, p, p))
    return out


@for_perm(Perm.DECIDE_ELIGIBILITY)
def changes(request):
    programme = _programme(request)
    run = latest_run(programme)
    sections = []
    if run is not None:
        found = run_changes(run)
        shown_pks = {w for kind, _ in CHANGE_KINDS for w, *_ in found[kind][:CHANGES_SHOWN]}
        women = list(Woman.objects.filter(programme=programme, pk__in=shown_pks).order_by("pk"))
        identifiers = identifiers_for(request, women)
        labels = dict(Proposal.choices)
        for kind, label in CHANGE_KINDS:
            rows = [{"woman": w, "shown": identifiers.get(w), "before": labels.get(b, "Not evaluated"),
                     "after": labels.get(a, "")} for w, b, a in found[kind][:CHANGES_SHOWN]]
            sections.append({"kind": kind, "label": label, "count": len(found[kind]), "rows": rows,
                             "more": max(0, len(found[kind]) - CHANGES_SHOWN)})
    return render(request, "eligibility/changes.html", {"run": run, "sections": sections,
                                                        "job": unfinished_job(programme)})
