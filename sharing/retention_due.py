"""What falls due for deletion in the coming days (issue 22, point 7; ADR 41): the forecast the
retention page shows for Pause's delivery records and, in scoping, the scoping purge.

Each function here is one provider of the page's list (`audit.oversight.retention_page`): it takes
(programme, now, days) and returns one dict per category, {"what": words, "count": n,
"earliest": the first moment a row passes its period, or None, "note": words}. The forecast
assumes nothing changes meanwhile: nobody is released, leaves, comes back, or has a concern
raised, closed or filed. It reuses the run's own rules (`sharing.retention`) with the cutoff the
run would use at the window's end, and reckons as the daily runs will: a row goes under its own
category when its period runs out, unless the woman it is about goes first (runs take the women
first), when it goes with her and is counted under her. A row the next run deletes is counted
too, its moment being now ("earliest" is then `now`: it goes at the next run).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from pause_portal.tenancy.models import Phase, Programme
from sharing.models_delivery import (
    CaseloadAssignment,
    ConcernStatus,
    ContactAttempt,
    QuarterlyReport,
    QuarterlyReportStatus,
    SafeguardingConcern,
)
from sharing.models_markers import DoNotApproachMarker
from sharing.models_scoping import DeletionCertificate, ScopingWomanRow
from sharing.retention import MARKERS, SHORT_LABELS, _open_concern, schedule_for, women_out_of_view
from sharing.scoping_term import scoping_deadline

WINDOW_DAYS = 90


def _at_start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _item(key: str, count: int, earliest: datetime | None, note: str = "") -> dict:
    return {"what": SHORT_LABELS[key], "count": count, "earliest": earliest if count else None, "note": note}


def falls_due(programme: Programme, now: datetime, days: int = WINDOW_DAYS) -> list[dict]:
    """Per category of Pause's delivery records: how many rows pass their period by `now` + `days`
    and the earliest moment one does. A category the agreement gives no period is listed as kept.
    Raises `sharing.retention.RetentionScheduleError` when a period cannot be applied (so would a run)."""
    horizon = now + timedelta(days=days)
    out, women = [], {}  # women: {id: when she goes}
    for entry in schedule_for(programme):
        key, period = entry.category.key, entry.period
        if period is None:
            out.append(_item(key, 0, None, "kept: the agreement gives no period"))
            continue
        cutoff = period.cutoff(horizon)
        if key == "released_women":
            left = {pk: at for pk, at in women_out_of_view(programme, horizon).items() if at < cutoff}
            women = {pk: max(period.runs_out(at), now) for pk, at in left.items()}
            out.append(_item(key, len(women), min(women.values(), default=None)))
            continue
        if key == "contact_attempts":
            rows = ContactAttempt.objects.filter(programme=programme,
                                                 contacted_on__lt=timezone.localdate(cutoff)).exclude(_open_concern())
            clock = "contacted_on"
        elif key == "closed_concerns":
            rows = SafeguardingConcern.objects.filter(programme=programme, status=ConcernStatus.CLOSED,
                                                      closed_at__lt=cutoff, filed_at__isnull=False)
            rows = rows.exclude(_open_concern())
            clock = "closed_at"
        elif key == "ended_assignments":
            rows = CaseloadAssignment.objects.filter(programme=programme, ended_at__lt=cutoff).exclude(_open_concern())
            clock = "ended_at"
        else:
            rows = QuarterlyReport.objects.filter(programme=programme, status=QuarterlyReportStatus.DRAFT,
                                                  written_at__lt=cutoff)
            clock = "written_at"
        woman = "pk" if key == "report_drafts" else "released_woman_id"  # a draft is about nobody
        due = []
        for owner, at in rows.values_list(woman, clock):
            if not isinstance(at, datetime):  # a day: its rows go once the next day has begun
                at = _at_start_of(at + timedelta(days=1))
            own = max(period.runs_out(at), now)
            if key == "report_drafts" or owner not in women or own < women[owner]:
                due.append(own)  # else it goes with her first (each run takes the women first)
        out.append(_item(key, len(due), min(due, default=None)))
    markers = DoNotApproachMarker.objects.filter(programme=programme, until__lte=horizon)
    out.append(_item(MARKERS, markers.count(), markers.aggregate(first=Min("until"))["first"],
                     "each marker on its own date"))
    return out


def scoping_due(programme: Programme, now: datetime, days: int = WINDOW_DAYS) -> list[dict]:
    """In scoping: the scoping purge at the deadline, if the deadline falls within the window."""
    deadline = scoping_deadline(programme)
    if (programme.phase != Phase.SCOPING or deadline is None or deadline > now + timedelta(days=days)
            or DeletionCertificate.objects.filter(programme=programme).exists()):
        return []
    women = ScopingWomanRow.objects.filter(programme=programme).count()
    return [{"what": "Pause's scoping data: the release (women counted here, with their children), notes, "
                     "exports and report drafts not approved, and the scoping keys",
             "count": women, "earliest": deadline, "note": "purged when scoping ends, at its deadline"}]
