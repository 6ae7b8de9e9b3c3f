"""The Trust's copy's retention schedule (issue 22, point 1; ADR 38): each rule's period from the
current data-sharing agreement's `retention` ("untouched_women", "not_eligible_women"), applied by
`eligibility.trust_copy_retention` daily (Celery beat, `sharing.tasks_retention`) and by
`manage.py apply_trust_copy_retention` (with a dry run).

An agreement without a rule's period (older versions) keeps those women, and every run says so.
A period that cannot be applied refuses the whole run, naming the rule and the words, and nothing
is deleted until the agreement is corrected. `trust_copy_due` tells the retention page what falls
due in the coming days; `preview` is a dry run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from eligibility.trust_copy_retention import RULES, TrustCopyPurge, purge_trust_copy, women_due
from pause_portal.tenancy.models import Person, Programme
from sharing.agreements import RETENTION_STORES
from sharing.retention import Period, RetentionScheduleError, parse_period
from sharing.scoping_term import add_months, current_agreement


def schedule_for(programme: Programme) -> dict[str, Period | None]:
    """Each rule's period (None: no period in the agreement, so kept). Raises
    RetentionScheduleError naming every period that cannot be applied."""
    agreement = current_agreement(programme)
    retention = (agreement.retention if agreement else None) or {}
    periods, problems = {}, []
    for rule in RULES:
        words = str(retention.get(rule) or "").strip()
        if not words:
            periods[rule] = None
            continue
        try:
            periods[rule] = parse_period(words)
        except ValueError as exc:
            problems.append(f"{RETENTION_STORES[rule]} (the agreement's \u201c{rule}\u201d period): {exc}")
    if problems:
        raise RetentionScheduleError(problems)
    return periods


def schedule_words(periods: dict[str, Period | None]) -> str:
    return "; ".join(f"{rule}: {p.text if p else 'kept, no period in the agreement'}" for rule, p in periods.items())


def apply_trust_copy_retention(programme: Programme, *, dry_run: bool, trigger: str,
                               by: Person | None = None) -> TrustCopyPurge:
    """Run the schedule now. Raises RetentionScheduleError, changing nothing, on a period that
    cannot be applied."""
    periods = schedule_for(programme)
    now = timezone.now()
    cutoffs = {rule: (p.cutoff(now) if p else None) for rule, p in periods.items()}
    return purge_trust_copy(programme, cutoffs, dry_run=dry_run, trigger=trigger, by=by,
                            schedule=f"the agreement's periods ({schedule_words(periods)})")


def preview(programme: Programme, *, by: Person | None = None) -> TrustCopyPurge:
    """What a run now would remove, counted by doing it in a savepoint rolled back."""
    return apply_trust_copy_retention(programme, dry_run=True, trigger="preview", by=by)


def due_on(period: Period, since: datetime) -> datetime:
    return add_months(since, period.months) + timedelta(days=period.days)


def trust_copy_due(programme: Programme, now: datetime, days: int = 90) -> list[dict]:
    """What falls due by `days` days from `now`, per rule: its words, the period, how many women
    and the earliest date one falls due (already due counts, with its date). A rule with no period
    says it keeps them. Raises RetentionScheduleError as a run would."""
    out = []
    for rule, period in schedule_for(programme).items():
        words, clock = RULES[rule]
        entry = {"key": rule, "category": words, "clock": clock, "period": period.text if period else None,
                 "count": 0, "earliest": None}
        if period is None:
            entry["kept"] = "no period in the agreement"
        else:
            due = women_due(programme, rule, period.cutoff(now + timedelta(days=days)))
            entry["count"] = len(due)
            if due:
                entry["earliest"] = timezone.localdate(due_on(period, min(due.values())))
        out.append(entry)
    return out
