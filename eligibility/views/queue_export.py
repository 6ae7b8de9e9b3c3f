"""The decision queue as CSV, for the programme's Trust caseworkers and leads: every row the queue's
filters give (not only the page shown), in the queue's order, with the columns reference (her
Trust person ID), name, date of birth, proposal, decision and last removal.

Names, dates of birth and Trust ids come through `eligibility.disclosure.disclose`, whose one
entry names every woman in the file as a subject. Cells a spreadsheet could run as a formula are
quoted (`pause_portal.csv_safe`). Posted, like the caseload export: a link prefetched or followed
by accident discloses nothing.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from eligibility.disclosure import disclose
from eligibility.models import DecisionOutcome, Proposal
from eligibility.queue_rows import filtered, filters_of, latest_run, ordered, queue_rows, sort_of
from eligibility.views.queue import last_removal_text
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.csv_safe import as_csv
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

HEADER = ["Reference", "Name", "Date of birth", "Proposal", "Decision", "Last removal"]
WITHHELD = "Withheld"


@for_perm(Perm.DECIDE_ELIGIBILITY)
@require_POST
def queue_export(request):
    programme = current_membership(request).programme
    run = latest_run(programme)
    rows = []
    if run is not None:
        params = request.POST
        sort, descending = sort_of(params)
        rows = list(ordered(filtered(queue_rows(run), filters_of(params)), sort, descending))
    served = {}
    if rows:
        served = {s.pk: s for s in disclose(request.user, [e.woman for e in rows], page=request.path,
                                            reason="decision queue export (CSV)")}
    proposals, outcomes = dict(Proposal.choices), dict(DecisionOutcome.choices)
    table = []
    for e in rows:
        her = served.get(e.woman_id)
        table.append([
            her.get("trust_person_id") if her else WITHHELD,
            presenting.name(her.get("forename"), her.get("surname")) if her else WITHHELD,
            presenting.day(her.get("date_of_birth")) if her else WITHHELD,
            proposals.get(e.proposal, e.proposal),
            outcomes.get(e.current_outcome, "No decision yet"),
            last_removal_text(e.last_removal_on),
        ])
    response = HttpResponse("\ufeff" + as_csv(HEADER, table), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="decision-queue-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
