"""The DPO's access review: search by person (posted, with a reason), by filters, a member of
staff's report, the saved search's pages and its CSV export.

A person search is made for one of the programme's open rights requests — and must find exactly
the woman it is about — or for a free-text reason (ADR 16). The rights request's page starts the
same search for its woman directly (`request_search`). Every search is recorded once, when it is
made (`record_review`: a `ReviewSearch` row and an audit entry), and its pages are read back from that record by its number — so an identifier
never travels in an address and paging does not re-run the person look-up. Only the DPO who made
a search can open it; anyone else gets 404. The pages show entries, never a person's record.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from audit.core.models_review import FlagStatus, MonitoringFlag, ReviewKind, ReviewSearch
from audit.core.models_rights import RightsRequest
from audit.oversight import review
from audit.oversight.csv_safe import as_csv
from audit.oversight.forms_review import (
    PERSON_KINDS,
    ExportForm,
    PersonSearchForm,
    TrailSearchForm,
    UserReportForm,
)
from audit.oversight.person_subjects import describe_reference, find_person
from audit.oversight.review_actions import ReviewRefused, record_review
from audit.oversight.views.common import entry_rows, members_of, organisations_of
from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Organisation, Person
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

EXPORT_MAX = 100_000
SEARCH_KINDS = (ReviewKind.PERSON_SEARCH, ReviewKind.TRAIL_SEARCH, ReviewKind.USER_REPORT)


def _context(request, **forms) -> dict:
    membership = current_membership(request)
    programme = membership.programme
    members = members_of(programme)
    record_staff_view(request, members, membership=membership)
    return {
        "programme": programme,
        "person_form": forms.get("person_form") or PersonSearchForm(requests=open_requests(programme)),
        "trail_form": forms.get("trail_form") or TrailSearchForm(members=members,
                                                                 organisations=organisations_of(programme)),
        "user_form": forms.get("user_form") or UserReportForm(members=members),
        "open_flags": review.flags_in_scope(programme).filter(status=FlagStatus.OPEN).count(),
        "recent": ReviewSearch.objects.filter(programme=programme, by=request.user, kind__in=SEARCH_KINDS)[:5],
    }


def open_requests(programme) -> list:
    """The programme's open rights requests a person search may be made for, soonest due first."""
    from audit.oversight.rights import due_list

    return list(due_list(programme.pk))


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_safe
def home(request):
    return render(request, "dpo/home.html", _context(request))


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_POST
def person_search(request):
    programme = current_membership(request).programme
    form = PersonSearchForm(request.POST, requests=open_requests(programme))
    if form.is_valid():
        kind, value = form.cleaned_data["kind"], form.cleaned_data["value"]
        found = find_person(programme, kind, value)
        references = sorted({ref for person in found for ref in person.references})
        try:
            search = record_review(
                by=request.user, programme=programme, kind=ReviewKind.PERSON_SEARCH,
                reason=form.cleaned_data["reason"], rights_request=form.cleaned_data["request"],
                criteria={"by": kind, "found": [p.kind for p in found]}, subjects=references,
                named=[p.primary for p in found], result_count=len(review.entry_keys(references))
                if references else 0, page=request.path)
        except ReviewRefused as refusal:  # nothing recorded
            form.add_error("rights_request" if form.cleaned_data["request"] else "reason", str(refusal))
        else:
            return redirect("dpo:search", pk=search.pk)
    return render(request, "dpo/home.html", {**_context(request, person_form=form), "focus": "person"})


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
def request_search(request, pk: int):
    """The access review of the woman an open rights request is about, made for that request
    (started from the request's page: no identifier is typed or sent)."""
    programme = current_membership(request).programme
    rights_request = RightsRequest.objects.filter(pk=pk, programme=programme).first()
    if rights_request is None:  # first: another programme's request is 404 whatever the method
        raise Http404("No such request.")
    return _search_for_request(request, programme, rights_request)


@require_POST
def _search_for_request(request, programme, rights_request: RightsRequest):
    from django.contrib import messages

    from audit.oversight.person_subjects import WOMAN, references_about_woman

    if not rights_request.is_open or rights_request.woman_id is None:
        messages.error(request, f"Request {rights_request.reference} is closed: its person's access review is "
                                "searched from the access review page with a reason")
        return redirect("rights:request", pk=rights_request.pk)
    references = references_about_woman(rights_request.woman_id)
    search = record_review(
        by=request.user, programme=programme, kind=ReviewKind.PERSON_SEARCH, reason="",
        rights_request=rights_request, criteria={"by": "rights_request", "found": [WOMAN]}, subjects=references,
        named=[f"eligibility.woman:{rights_request.woman_id}"],
        result_count=len(review.entry_keys(references)), page=request.path)
    return redirect("dpo:search", pk=search.pk)


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_POST
def trail_search(request):
    programme = current_membership(request).programme
    form = TrailSearchForm(request.POST, members=members_of(programme), organisations=organisations_of(programme))
    if not form.is_valid():
        return render(request, "dpo/home.html", {**_context(request, trail_form=form), "focus": "trail"})
    data = form.cleaned_data
    filters = review.TrailFilters(user_id=data["user"], organisation_id=data["organisation"], action=data["action"],
                                  date_from=data["date_from"], date_to=data["date_to"], flag=data["flag"])
    search = record_review(by=request.user, programme=programme, kind=ReviewKind.TRAIL_SEARCH,
                           reason=data["reason"], criteria=filters.as_criteria(),
                           result_count=review.trail_entries(programme, filters).count(), page=request.path)
    return redirect("dpo:search", pk=search.pk)


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
@require_POST
def user_report(request):
    programme = current_membership(request).programme
    form = UserReportForm(request.POST, members=members_of(programme))
    if not form.is_valid():
        return render(request, "dpo/home.html", {**_context(request, user_form=form), "focus": "user"})
    filters = review.TrailFilters(user_id=form.cleaned_data["user"])
    search = record_review(by=request.user, programme=programme, kind=ReviewKind.USER_REPORT,
                           reason=form.cleaned_data["reason"], criteria=filters.as_criteria(),
                           result_count=review.trail_entries(programme, filters).count(), page=request.path)
    return redirect("dpo:search", pk=search.pk)


def _search_or_404(request, pk: int) -> ReviewSearch:
    """Fetch and authorise in one step: only the DPO who made the search, in this programme."""
    programme = current_membership(request).programme
    search = ReviewSearch.objects.filter(pk=pk, by=request.user, programme=programme, kind__in=SEARCH_KINDS).first()
    if search is None:
        raise Http404("No such search.")
    return search


def _entries_of(search: ReviewSearch):
    if search.kind == ReviewKind.PERSON_SEARCH:
        return review.person_entries_queryset(search.subjects) if search.subjects else None
    return review.trail_entries(search.programme, review.TrailFilters.from_criteria(search.criteria))


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
def search_results(request, pk: int):
    search = _search_or_404(request, pk)  # first: not yours is 404 whatever the method
    return _show_results(request, search)


@require_safe
def _show_results(request, search: ReviewSearch):
    return _render_results(request, search, ExportForm())


def _render_results(request, search: ReviewSearch, export_form, status: int = 200):
    from django.core.paginator import Paginator

    entries = _entries_of(search)
    page = Paginator(entries, review.PER_PAGE).get_page(request.GET.get("page")) if entries is not None else None
    shown = list(page) if page else []
    rows = entry_rows(shown, search.subjects if search.kind == ReviewKind.PERSON_SEARCH else None)
    membership = current_membership(request)
    record_staff_view(request, {e.actor_id: e.actor for e in shown if e.actor_id}.values(), membership=membership)
    context = {"search": search, "page": page, "rows": rows, "export_form": export_form,
               "criteria": describe_criteria(search)}
    if search.kind == ReviewKind.PERSON_SEARCH and search.subjects:
        context["person_summary"] = review.person_summary(search.subjects, keys=entries.keys)
        context["records"] = [describe_reference(r) for r in search.subjects]
    elif search.kind == ReviewKind.USER_REPORT:
        context["user_summary"] = review.user_summary(search.programme, search.criteria["user_id"])
    return render(request, "dpo/search.html", context, status=status)


@for_perm(Perm.REVIEW_AUDIT_TRAIL)
def export(request, pk: int):
    search = _search_or_404(request, pk)  # first: not yours is 404 whatever the method
    return _export(request, search)


@require_POST
def _export(request, search: ReviewSearch):
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _render_results(request, search, form)
    entries = _entries_of(search)
    shown = list(entries[:EXPORT_MAX]) if entries is not None else []
    person = search.kind == ReviewKind.PERSON_SEARCH
    header, rows = export_table(shown, search.subjects if person else None)
    record_review(by=request.user, programme=search.programme, kind=ReviewKind.EXPORT,
                  reason=form.cleaned_data["reason"], criteria={"of": search.pk, "kind": search.kind},
                  named=_primaries(search) if person else [], result_count=len(shown), page=request.path)
    response = HttpResponse(as_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-review-{search.pk}.csv"'
    return response


def _primaries(search: ReviewSearch) -> list[str]:
    """The person's own references among a person search's subjects (her record, or the child's)."""
    own = [r for r in search.subjects if r.startswith("eligibility.woman:")]
    return own or [r for r in search.subjects if r.startswith(("eligibility.child:", "sharing.scopingchildrow:"))][:1]


def export_table(entries: list, references: list[str] | None) -> tuple[list[str], list[list]]:
    rows = entry_rows(entries, references)
    header = ["Entry", "Time (UK)", "Action", "Event", "Member of staff", "Staff number", "Role", "Organisation",
              "Programme", "Phase", "Page", "Status", "Reason", "Records shown", "Her records named", "Flags"]
    out = [[r.entry.pk, r.local_time.strftime("%Y-%m-%d %H:%M:%S"), r.action, r.entry.get_event_display(),
            r.actor_name, r.entry.actor_id or "", r.role, r.organisation, r.programme, r.entry.phase,
            r.entry.page, r.entry.status_code or "", r.entry.reason, r.entry.subject_count,
            "; ".join(r.named), "; ".join(f.get_rule_display() for f in r.flags)] for r in rows]
    return header, out


def describe_criteria(search: ReviewSearch) -> list[tuple[str, str]]:
    """What was searched for, in words, without any identifier."""
    from audit.oversight.review import Action
    c = search.criteria
    if search.kind == ReviewKind.PERSON_SEARCH:
        kinds = {**dict(PERSON_KINDS), "rights_request": "Her rights request"}
        found = c.get("found") or []
        return [("Searched by", kinds.get(c.get("by"), c.get("by", ""))),
                ("Found", ", ".join(found) if found else "Nobody matched")]
    if search.kind == ReviewKind.EXPORT:
        return [("Export of", f"review #{c.get('of')}")]
    out = []
    if c.get("user_id"):
        person = Person.objects.filter(pk=c["user_id"]).values_list("full_name", flat=True).first()
        out.append(("Member of staff", person or f"#{c['user_id']}"))
    if c.get("organisation_id"):
        out.append(("Organisation", Organisation.objects.filter(pk=c["organisation_id"]).values_list(
            "name", flat=True).first() or ""))
    if c.get("action"):
        out.append(("Action", Action.LABELS.get(c["action"], c["action"])))
    if c.get("date_from"):
        out.append(("From", c["date_from"]))
    if c.get("date_to"):
        out.append(("To", c["date_to"]))
    if c.get("flag"):
        out.append(("Flag", "Any rule" if c["flag"] == "any" else dict(MonitoringFlag._meta.get_field("rule")
                                                                        .choices).get(c["flag"], c["flag"])))
    return out or [("Filters", "None: every entry")]
