"""Retention of Pause's delivery data (issue 7, point 7; ADR 15): a schedule per data category,
read from the current data-sharing agreement, enforced daily by Celery beat
(`sharing.tasks_retention`) and on demand by `manage.py apply_retention` (with a dry run).

Each category's period is the agreement's `retention` entry under the category's own key, or else
its "delivery_records" entry (Pause's delivery records as a whole); a category with neither is
kept, and every run says so. Periods are words like "30 days", "6 months", "2 years" or
"1 year and 6 months"; anything else is refused, with the category and the words, and nothing is
deleted for that programme until the agreement is corrected.

Nothing about a woman with an open safeguarding concern or serious incident is ever deleted. A
closed one is deleted only once the Trust has filed it in its own case record
(`sharing.concern_hand_over`): until then it is kept, and so is the released woman it is about,
and each run counts what it kept for that reason (`awaiting_hand_over`).
Rows are deleted children first (the foreign keys PROTECT); a dry run does exactly the same work
inside a savepoint that is rolled back, so its counts are the real run's. Each run is recorded
(`RetentionRun`: the schedule, and the counts per category and per table) with an audit entry
naming, for a real run, the released women deleted (by reference).

A real run that deletes anything issues a purge certificate in its own transaction, and the run
links to it (`sharing.retention_certificate`, ADR 41); `sharing.retention_due` says what falls due.

Do-not-approach markers (`sharing.do_not_approach`) point at nothing of hers, so deleting her
release leaves them; each run deletes the markers past their own date ("do_not_approach").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import models, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person, Phase, Programme
from sharing.closing import destroy_key_of_last_tombstone
from sharing.delivery_access import in_pause_view
from sharing.models_delivery import (
    LEAVES_VIEW_AFTER_DAYS,
    OPEN_CONCERN_STATUSES,
    AbsenceConfirmation,
    CaseloadAssignment,
    CaseloadGroupObjectPermission,
    CaseloadUserObjectPermission,
    ConcernStatus,
    ContactAttempt,
    QuarterlyReport,
    QuarterlyReportStatus,
    ReleasedChild,
    ReleasedWoman,
    ReleaseReinstatement,
    RetentionRun,
    SafeguardingConcern,
)
from sharing.models_markers import DoNotApproachMarker
from sharing.retention_certificate import issue_for_run, rows_deleted
from sharing.scoping_term import add_months, current_agreement


@dataclass(frozen=True)
class Category:
    key: str  # its key in the agreement's `retention`
    label: str
    clock: str  # from when its period runs


CATEGORIES = (
    Category("released_women", "Released women who have left Pause's view, with everything Pause holds about "
             "them (their children's delivery tokens, contact attempts, caseload history, closed concerns)",
             "from when she left Pause's view"),
    Category("contact_attempts", "Contact attempts", "from the date of contact"),
    Category("closed_concerns", "Safeguarding concerns and serious incidents, once closed", "from when it was closed"),
    Category("ended_assignments", "Caseload history: assignments that have ended", "from when it ended"),
    Category("report_drafts", "Quarterly progress report drafts never sent", "from when the draft was made"),
)
FALLBACK_STORE = "delivery_records"
MARKERS = "do_not_approach"  # swept on each marker's own date, never with her release
BY_KEY = {c.key: c for c in CATEGORIES}
# Each category (and the markers) in a few plain words, for pages and certificates.
SHORT_LABELS = {
    "released_women": "Released women who left Pause's view",
    "contact_attempts": "Contact attempts",
    "closed_concerns": "Closed safeguarding concerns and serious incidents",
    "ended_assignments": "Ended caseload assignments",
    "report_drafts": "Quarterly report drafts never sent",
    MARKERS: "Do-not-approach markers past their date",
}


class RetentionScheduleError(Exception):
    """The agreement's retention periods cannot be applied; nothing was deleted."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# --- periods in words --------------------------------------------------------------------------
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1}
_PART = re.compile(r"(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(day|week|month|year)s?")


@dataclass(frozen=True)
class Period:
    text: str
    months: int
    days: int

    def cutoff(self, now: datetime) -> datetime:
        """The moment before which this period has run out."""
        return add_months(now, -self.months) - timedelta(days=self.days)

    def runs_out(self, start: datetime) -> datetime:
        """When the period that began at `start` has run out (the inverse of `cutoff`, reckoned in
        UTC as runs reckon it, from `timezone.now()`)."""
        return add_months(start.astimezone(UTC) + timedelta(days=self.days), self.months)


def parse_period(text: str) -> Period:
    """A period in words: "30 days", "12 weeks", "6 months", "two years", "1 year and 6 months".
    Raises ValueError saying what is accepted."""
    words = " ".join((text or "").lower().split())
    months = days = 0
    parts = [p for p in re.split(r"\s*(?:,|\band\b)\s*", words) if p]
    if not parts:
        raise ValueError("no period is given")
    for part in parts:
        match = _PART.fullmatch(part)
        if not match:
            raise ValueError(f"\u201c{text.strip()}\u201d is not a period the portal can apply: write it as a number "
                             "and a unit, like \u201c30 days\u201d, \u201c6 months\u201d or \u201c2 years\u201d")
        number = int(match[1]) if match[1].isdigit() else NUMBER_WORDS[match[1]]
        unit = match[2]
        if unit == "year":
            months += 12 * number
        elif unit == "month":
            months += number
        else:
            days += number * (7 if unit == "week" else 1)
    if months == 0 and days == 0:
        raise ValueError(f"\u201c{text.strip()}\u201d is no time at all: a retention period is at least a day")
    return Period(text.strip(), months, days)


@dataclass(frozen=True)
class Entry:
    category: Category
    period: Period | None  # None: kept, no period in the agreement
    source: str | None  # the agreement's key the period came from


def schedule_for(programme: Programme) -> list[Entry]:
    """Each category's period from the current agreement. Raises RetentionScheduleError naming
    every period that cannot be applied."""
    agreement = current_agreement(programme)
    retention = (agreement.retention if agreement else None) or {}
    entries, problems = [], []
    for category in CATEGORIES:
        source = next((k for k in (category.key, FALLBACK_STORE) if str(retention.get(k) or "").strip()), None)
        if source is None:
            entries.append(Entry(category, None, None))
            continue
        try:
            entries.append(Entry(category, parse_period(str(retention[source])), source))
        except ValueError as exc:
            problems.append(f"{category.label.split(',')[0]} (the agreement's \u201c{source}\u201d period): {exc}")
    if problems:
        raise RetentionScheduleError(problems)
    return entries


# --- what has run out --------------------------------------------------------------------------
def _open_concern(woman_field: str = "released_woman_id"):
    return Exists(SafeguardingConcern.objects.filter(released_woman_id=OuterRef(woman_field),
                                                     status__in=OPEN_CONCERN_STATUSES))


def _unfiled_concern(woman_field: str = "pk"):
    """A closed concern about her the Trust has not yet filed in its case record."""
    return Exists(SafeguardingConcern.objects.filter(released_woman_id=OuterRef(woman_field),
                                                     status=ConcernStatus.CLOSED, filed_at__isnull=True))


def _held_elsewhere() -> list[tuple[type[models.Model], str]]:
    """Other tables that PROTECT a released woman (added by other features): she is kept while
    any row of theirs points at her."""
    known = {AbsenceConfirmation, ReleaseReinstatement, ReleasedChild, ContactAttempt, SafeguardingConcern,
             CaseloadAssignment, CaseloadUserObjectPermission,
             CaseloadGroupObjectPermission}
    return [(rel.related_model, rel.field.name) for rel in ReleasedWoman._meta.related_objects
            if rel.related_model not in known and rel.on_delete in (models.PROTECT, models.RESTRICT)]


def women_past_retention(programme: Programme, cutoff: datetime, now: datetime, *,
                         awaiting_hand_over: bool = False) -> list[int]:
    """Released women out of Pause's view since before `cutoff`, with no open concern and no closed
    one awaiting hand-over to the Trust (with `awaiting_hand_over`: only those kept for that). She left
    the view when the Trust withdrew her release, 30 days after she declined or withdrew (or when
    the last concern that kept her in view was closed, if later), or when the programme closed;
    a restriction alone is not leaving (it may be lifted)."""
    left = women_out_of_view(programme, now, awaiting_hand_over=awaiting_hand_over)
    return [pk for pk, at in left.items() if at < cutoff]


def women_out_of_view(programme: Programme, now: datetime, *, awaiting_hand_over: bool = False) -> dict[int, datetime]:
    """{id: when she left Pause's view} for each released woman out of view at `now` whom nothing
    else holds (see `women_past_retention`), in id order."""
    in_view = in_pause_view(ReleasedWoman.objects.filter(programme=programme), now=now).values("pk")
    candidates = (ReleasedWoman.objects.filter(programme=programme).exclude(pk__in=in_view)
                  .exclude(_open_concern("pk")).annotate(last_closed=Max("concerns__closed_at")))
    candidates = (candidates.filter(_unfiled_concern()) if awaiting_hand_over
                  else candidates.exclude(_unfiled_concern()))
    for model, field in _held_elsewhere():
        candidates = candidates.exclude(Exists(model.objects.filter(**{field: OuterRef("pk")})))
    out = {}
    for woman in candidates.only("pk", "withdrawn_at", "participation_ended_at").order_by("pk"):
        left = []
        if woman.withdrawn_at:
            left.append(woman.withdrawn_at)
        if woman.participation_ended_at:
            ended = woman.participation_ended_at + timedelta(days=LEAVES_VIEW_AFTER_DAYS)
            left.append(max(ended, woman.last_closed) if woman.last_closed else ended)
        if programme.phase == Phase.CLOSED:
            left.append(programme.phase_started_at)
        if left:
            out[woman.pk] = min(left)
    return out


def _delete(queryset, rows: Counter) -> int:
    count, per_model = queryset.delete()
    rows.update({label: n for label, n in per_model.items() if n})
    return per_model.get(queryset.model._meta.label, 0)


def _delete_expired(programme: Programme, entries: list[Entry], now: datetime) -> tuple[dict, list[int]]:
    """Delete what has run out, category by category (women first: they take all their rows).
    Returns ({category: {"count", "rows", and for released women and closed concerns
    "awaiting_hand_over"}}, the ids of the women deleted)."""
    done: dict = {}
    women: list[int] = []
    for entry in entries:
        key = entry.category.key
        if entry.period is None:
            done[key] = {"count": 0, "rows": {}, "kept": "no period in the agreement"}
            continue
        cutoff, rows, awaiting = entry.period.cutoff(now), Counter(), None
        if key == "released_women":
            women = women_past_retention(programme, cutoff, now)
            for model in (AbsenceConfirmation, ReleaseReinstatement, ReleasedChild, ContactAttempt, SafeguardingConcern,
                          CaseloadAssignment, CaseloadUserObjectPermission):
                _delete(model.objects.filter(**{"content_object_id__in" if model is CaseloadUserObjectPermission
                                                else "released_woman_id__in": women}), rows)
            _delete(CaseloadGroupObjectPermission.objects.filter(content_object_id__in=women), rows)
            count = _delete(ReleasedWoman.objects.filter(pk__in=women), rows)
            awaiting = len(women_past_retention(programme, cutoff, now, awaiting_hand_over=True))
        elif key == "contact_attempts":
            count = _delete(ContactAttempt.objects.filter(programme=programme, contacted_on__lt=timezone.localdate(cutoff))
                            .exclude(_open_concern()), rows)
        elif key == "closed_concerns":
            closed = SafeguardingConcern.objects.filter(programme=programme, status=ConcernStatus.CLOSED,
                                                        closed_at__lt=cutoff).exclude(_open_concern())
            count = _delete(closed.filter(filed_at__isnull=False), rows)
            awaiting = closed.filter(filed_at__isnull=True).count()
        elif key == "ended_assignments":
            count = _delete(CaseloadAssignment.objects.filter(programme=programme, ended_at__lt=cutoff)
                            .exclude(_open_concern()), rows)
        else:
            count = _delete(QuarterlyReport.objects.filter(programme=programme, status=QuarterlyReportStatus.DRAFT,
                                                           written_at__lt=cutoff), rows)
        done[key] = {"count": count, "rows": dict(sorted(rows.items()))}
        if awaiting is not None:  # kept until the Trust files its concerns in its case record
            done[key]["awaiting_hand_over"] = awaiting
    rows = Counter()  # do-not-approach markers carry their own date (`sharing.do_not_approach`)
    count = _delete(DoNotApproachMarker.objects.filter(programme=programme, until__lte=now), rows)
    done[MARKERS] = {"count": count, "rows": dict(rows)}
    return done, women


def _schedule_json(entries: list[Entry], now: datetime) -> dict:
    return {e.category.key: ({"period": e.period.text, "from": e.source, "clock": e.category.clock,
                              "cutoff": e.period.cutoff(now).isoformat()} if e.period else None) for e in entries}


def apply_retention(programme: Programme, *, dry_run: bool, trigger: str, by: Person | None = None) -> RetentionRun:
    """Run the programme's retention schedule now: delete what has run out (or, on a dry run,
    count what would be), record the run and its audit entry. Raises RetentionScheduleError,
    changing nothing, when a period in the agreement cannot be applied."""
    entries = schedule_for(programme)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)  # one run at a time
        now = timezone.now()
        run = RetentionRun.objects.create(programme=programme, started_at=now, dry_run=dry_run, trigger=trigger,
                                          run_by=by, schedule=_schedule_json(entries, now))
        with transaction.atomic():  # a savepoint: a dry run rolls it back
            deleted, women = _delete_expired(programme, entries, now)
            if dry_run:
                transaction.set_rollback(True)
        run.deleted, run.finished_at = deleted, max(timezone.now(), now)
        fields = ["deleted", "finished_at"]
        if not dry_run and rows_deleted(deleted):  # a purge was made: certify it (ADR 41)
            run.certificate = issue_for_run(run, programme=programme, by=by, women=women)
            fields.append("certificate")
        if not dry_run and deleted[MARKERS]["count"]:  # a closed programme's last tombstone may have gone
            destroy_key_of_last_tombstone(programme, by=by, trigger=f"retention run #{run.pk}")
        run.save(update_fields=fields)
        counts = ", ".join(f"{k} {v['count']}" for k, v in deleted.items() if "kept" not in v) or "nothing"
        kept = [k for k, v in deleted.items() if "kept" in v]
        awaiting = ", ".join(f"{k} {v['awaiting_hand_over']}" for k, v in deleted.items()
                             if v.get("awaiting_hand_over"))
        reason = (f"retention run #{run.pk} ({trigger}{', dry run: nothing deleted' if dry_run else ''}): "
                  f"{'would delete' if dry_run else 'deleted'} {counts}"
                  + (f"; kept, no period in the agreement: {', '.join(kept)}" if kept else "")
                  + (f"; kept until the Trust files its concerns in its case record: {awaiting}" if awaiting else ""))
        record_event(Event.CHANGE, actor=by, target=run, programme=programme, action=2 if not dry_run else 0,
                     subject_model=ReleasedWoman, subject_ids=[] if dry_run else women, reason=reason)
    return run
