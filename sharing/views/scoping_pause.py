"""The Pause lead's scoping pages: the released rows (served values only), summary tables with
small-number suppression, CSV exports of aggregates only (recorded as `ScopingExport`), and
working notes. Every read goes through the disclosure policy, which serves nothing once scoping
is not open; every export and note is recorded with an audit entry."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.disclosure import disclose
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.forms_scoping import ExportForm, NoteForm
from sharing.models_scoping import ScopingChildRow, ScopingExport, ScopingNote, ScopingWomanRow
from sharing.scoping_release import COLUMN_LABELS, columns_served_now
from sharing.scoping_tables import (
    as_csv,
    digest,
    hold_back_changed_versions,
    keep_versions,
    summary_tables,
)
from sharing.scoping_term import scoping_deadline, scoping_is_open


def _state(request) -> dict:
    membership = current_membership(request)
    programme = membership.programme
    is_open = programme.phase == Phase.SCOPING and scoping_is_open(programme)
    return {"membership": membership, "programme": programme, "is_open": is_open,
            "deadline": scoping_deadline(programme) if is_open else None}


def _served(request, programme, reason: str) -> tuple[list, list]:
    """The snapshot's served women and children, through the disclosure policy (an entry each)."""
    women = disclose(request.user, ScopingWomanRow.objects.filter(programme=programme).order_by("token"),
                     page=request.path, reason=reason)
    children = disclose(request.user,
                        ScopingChildRow.objects.filter(programme=programme).select_related("mother_row")
                        .order_by("token"), page=request.path, reason=reason)
    return list(women), list(children)


@for_perm(Perm.VIEW_RELEASED_DATA)
def rows(request):
    """The served women's rows only: children are never listed one by one (a list of children with
    year band and outcome gave the exact counts the tables suppress); they are counted in the
    children's summary table."""
    state = _state(request)
    women = []
    if state["is_open"]:
        women = list(disclose(request.user, ScopingWomanRow.objects.filter(programme=state["programme"])
                              .order_by("token"), page=request.path, reason="scoping release rows"))
    columns = [(c, COLUMN_LABELS[c]) for c in columns_served_now(state["programme"])]
    shows_token = bool(women) and "token" in women[0]  # the agreement's scoping items say (ADR 28)
    table = [[*([w.token] if shows_token else []), *(w.get(c, "") for c, _ in columns)] for w in women]
    return render(request, "scoping/rows.html", {**state, "women": table, "columns": columns,
                                                 "shows_token": shows_token})


@for_perm(Perm.VIEW_RELEASED_DATA)
def tables(request):
    state = _state(request)
    summary = {}
    if state["is_open"]:
        women, children = _served(request, state["programme"], "scoping summary tables")
        summary = {name: hold_back_changed_versions(state["programme"], t)
                   for name, t in summary_tables(women, children).items()}
        keep_versions(state["programme"], summary.values(), via="page")
    return render(request, "scoping/tables.html", {**state, "tables": list(summary.values()),
                                                   "export_form": ExportForm()})


@for_perm(Perm.VIEW_RELEASED_DATA)
@require_POST
def export(request):
    """One summary table as CSV: aggregates only, recorded with its digest and an audit entry."""
    state = _state(request)
    form = ExportForm(request.POST)
    if not state["is_open"] or not form.is_valid():
        raise Http404("No such export.")
    name = form.cleaned_data["table"]
    with transaction.atomic():
        women, children = _served(request, state["programme"], f"scoping aggregate export: {name}")
        made = summary_tables(women, children)
        if name not in made:  # a table of items the agreement does not share
            raise Http404("This table cannot be exported.")
        table = hold_back_changed_versions(state["programme"], made[name])
        if not table.shown:
            raise Http404("This table cannot be exported.")
        content = as_csv(table)
        keep_versions(state["programme"], [table], via="export")
        record = ScopingExport.objects.create(programme=state["programme"], exported_by=request.user, table=name,
                                              sha256=digest(content), suppressed_cells=table.suppressed_cells)
        record_event(Event.CHANGE, actor=request.user, target=record, programme=state["programme"],
                     role=state["membership"].role, action=0,
                     reason=f"scoping aggregate export #{record.pk}: {name}, sha256 {record.sha256}")
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scoping-{name}-{record.pk}.csv"'
    return response


@for_perm(Perm.VIEW_RELEASED_DATA)
@require_http_methods(["GET", "HEAD", "POST"])
def notes(request):
    state = _state(request)
    programme = state["programme"]
    form = NoteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not state["is_open"]:
            raise Http404("Scoping has ended.")
        if form.is_valid():
            with transaction.atomic():
                note = ScopingNote.objects.create(programme=programme, written_by=request.user,
                                                  text=form.cleaned_data["text"])
                record_event(Event.CHANGE, actor=request.user, target=note, programme=programme,
                             role=state["membership"].role, action=0, reason=f"scoping note #{note.pk} written")
            messages.success(request, "Note saved")
            return redirect("scoping:notes")
    shown = []
    if state["is_open"]:
        shown = list(disclose(request.user, ScopingNote.objects.filter(programme=programme)
                              .select_related("written_by").order_by("-written_at", "-pk"),
                              page=request.path, reason="scoping notes"))
    return render(request, "scoping/notes.html", {**state, "form": form, "notes": shown})
