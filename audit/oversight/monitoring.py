"""Monitoring rules over the audit trail: each raises flags for the DPO to review (issue 8, point 3).

- out of hours: an access (a disclosure, or the DPO's own search or export) outside working hours
  or on a non-working day, in Europe/London time — one flag per person per hour of such access;
- bulk access: more than N records shown to one person within M minutes (records counted per page
  shown: a page of 50 is 50) — flagged at the entry that crosses the line, then not again for that
  person until the window has passed;
- outside a caseload or programme: a refused request (403/404) on a case page — the portal answers
  "not found" for a record that is not yours — by a signed-in person;
- repeated refusals: K refused requests or failed two-step codes by one person within M minutes;
- declared conflict: an access by someone to a person they declared a conflict with (the register
  holds only blind indexes; the match is made through them, never through plaintext);
- rights request with no recorded receipt (issue 17): a request opened whose date and channel of
  receipt (letter, email, in person, through the Trust) are not recorded;
- rights requests opened fast (issue 17): more than N requests opened by one person within H hours.

Thresholds come from settings.PORTAL_MONITORING. The rules read new entries incrementally: the
cursor is a link of the seal chain, not an entry id — seals are made in commit order, so an entry
whose transaction commits after a higher id was read is still read (by id, it would be skipped).
`run_monitoring()` seals what is pending first; Celery beat runs it every few minutes, and so does
`manage.py run_monitoring`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.core import sealing
from audit.core.models import AuditEntry, AuditSeal, AuditSubject, Event
from audit.core.models_review import (
    ConflictDeclaration,
    ConflictKind,
    FlagRule,
    MonitoringCursor,
    MonitoringFlag,
)
from audit.core.models_rights import RightsRequest
from eligibility.models import Child, Woman

LONDON = ZoneInfo("Europe/London")
BATCH = 2000
CURSOR = "rules"
ACCESS_EVENTS = (Event.DISCLOSURE, Event.REVIEW_SEARCH, Event.REVIEW_EXPORT)
REFUSAL_EVENTS = (Event.REFUSED, Event.MFA_FAILED)
OUT_OF_HOURS_GROUP = timedelta(hours=1)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Thresholds:
    day_starts: int = 7  # hour, local time: access before it is out of hours
    day_ends: int = 19  # hour: access at or after it is out of hours
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    bulk_records: int = 200
    bulk_minutes: int = 10
    refusals: int = 5
    refusal_minutes: int = 10
    case_pages: tuple[str, ...] = ("/records/", "/scoping/", "/delivery/", "/casework/", "/progress/")
    rights_requests: int = 5  # more than this many requests opened by one person within ...
    rights_request_hours: int = 24  # ... this many hours raises a flag

    @classmethod
    def from_settings(cls) -> Thresholds:
        values = getattr(settings, "PORTAL_MONITORING", {})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def describe_hours(self) -> str:
        days = sorted(self.working_days)
        span = "Monday to Friday" if days == [0, 1, 2, 3, 4] else ", ".join(DAYS[d] for d in days)
        return f"{self.day_starts:02d}:00 to {self.day_ends:02d}:00, {span}"


def is_out_of_hours(moment: datetime, t: Thresholds) -> bool:
    local = moment.astimezone(LONDON)
    return local.weekday() not in t.working_days or not (t.day_starts <= local.hour < t.day_ends)


class _Raised:
    """The flags of one run, with the look-back each rule needs to avoid raising twice."""

    def __init__(self):
        self.flags: list[MonitoringFlag] = []

    def recent(self, rule: FlagRule, actor_id: int, since: datetime, until: datetime) -> bool:
        if any(f.rule == rule and f.actor_id == actor_id and since < f.occurred_at <= until for f in self.flags):
            return True
        return MonitoringFlag.objects.filter(rule=rule, actor_id=actor_id, occurred_at__gt=since,
                                             occurred_at__lte=until).exists()

    def add(self, rule: FlagRule, entry: AuditEntry, detail: str) -> None:
        self.flags.append(MonitoringFlag(rule=rule, entry_id=entry.pk, occurred_at=entry.timestamp,
                                         actor_id=entry.actor_id, programme_id=entry.programme_id, detail=detail))


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%H:%M} on {DAYS[local.weekday()]} {local.day} {local:%B %Y}"


def _what(entry: AuditEntry) -> str:
    return f"{entry.get_event_display()} on {entry.page or 'no page'}"


# --- the rules -------------------------------------------------------------------------------
def out_of_hours(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    for e in entries:
        if e.actor_id and e.event in ACCESS_EVENTS and is_out_of_hours(e.timestamp, t):
            if not raised.recent(FlagRule.OUT_OF_HOURS, e.actor_id, e.timestamp - OUT_OF_HOURS_GROUP, e.timestamp):
                raised.add(FlagRule.OUT_OF_HOURS, e, f"{_what(e)} at {_when(e.timestamp)}, outside working hours "
                                                     f"({t.describe_hours()})")


def _windows(entries: list[AuditEntry], events, minutes: int, weight: Callable[[tuple], int], threshold: int,
             rule: FlagRule, raised: _Raised, describe: Callable[[AuditEntry, int], str]) -> None:
    """One person's events in a sliding window of `minutes` (including entries read in earlier
    runs): the entry at which the window's total first passes the threshold raises a flag."""
    window = timedelta(minutes=minutes)
    mine: dict[int, list[AuditEntry]] = {}
    for e in entries:
        if e.actor_id and e.event in events:
            mine.setdefault(e.actor_id, []).append(e)
    for actor_id, batch in mine.items():
        lo, hi = min(e.timestamp for e in batch), max(e.timestamp for e in batch)
        rows = list(AuditEntry.objects.filter(actor_id=actor_id, event__in=events, timestamp__gt=lo - window,
                                              timestamp__lte=hi).order_by("timestamp", "id")
                    .values_list("id", "timestamp", "subject_count"))
        wanted = {e.pk: e for e in batch}
        start, total = 0, 0
        for row in rows:
            total += weight(row)
            while rows[start][1] <= row[1] - window:
                total -= weight(rows[start])
                start += 1
            entry = wanted.get(row[0])
            if entry is not None and total > threshold and not raised.recent(rule, actor_id, row[1] - window, row[1]):
                raised.add(rule, entry, describe(entry, total))


def bulk_access(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    _windows(entries, (Event.DISCLOSURE,), t.bulk_minutes, lambda row: row[2], t.bulk_records,
             FlagRule.BULK_ACCESS, raised,
             lambda e, n: f"{n} records shown within {t.bulk_minutes} minutes up to {_when(e.timestamp)} "
                          f"(more than {t.bulk_records}); the last: {_what(e)}")


def repeated_refusals(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    _windows(entries, REFUSAL_EVENTS, t.refusal_minutes, lambda row: 1, t.refusals - 1,
             FlagRule.REPEATED_REFUSALS, raised,
             lambda e, n: f"{n} refused requests or failed two-step codes within {t.refusal_minutes} minutes up "
                          f"to {_when(e.timestamp)} ({t.refusals} or more); the last: {_what(e)}")


def outside_caseload(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    window = timedelta(minutes=t.refusal_minutes)
    for e in entries:
        if e.event == Event.REFUSED and e.actor_id and (e.page or "").startswith(t.case_pages):
            if not raised.recent(FlagRule.OUTSIDE_CASELOAD, e.actor_id, e.timestamp - window, e.timestamp):
                raised.add(FlagRule.OUTSIDE_CASELOAD, e, f"Refused ({e.status_code or 'no status'}) on "
                                                         f"{e.page} at {_when(e.timestamp)}: a record outside "
                                                         "their caseload or programme, or one that does not exist")


def declared_conflict(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    access = [e for e in entries if e.actor_id and e.event in (*ACCESS_EVENTS, Event.CHANGE)]
    if not access:
        return
    declarations = ConflictDeclaration.objects.filter(withdrawn_at__isnull=True,
                                                      declared_by_id__in={e.actor_id for e in access})
    refs: dict[int, dict[str, int]] = {}  # actor -> reference -> declaration id
    for d in declarations:
        for ref in _references_declared(d):
            refs.setdefault(d.declared_by_id, {}).setdefault(ref, d.pk)
    candidates = [e for e in access if e.actor_id in refs]
    if not candidates:
        return
    named: dict[int, set[str]] = {}
    every = set().union(*(set(r) for r in refs.values()))
    for entry_id, subject in AuditSubject.objects.filter(entry_id__in=[e.pk for e in candidates],
                                                         subject__in=every).values_list("entry_id", "subject"):
        named.setdefault(entry_id, set()).add(subject)
    for e in candidates:
        hits = {r for r in named.get(e.pk, set()) | {e.object_repr} if r in refs[e.actor_id]}
        if hits:
            which = sorted({refs[e.actor_id][r] for r in hits})
            raised.add(FlagRule.DECLARED_CONFLICT, e,
                       f"{_what(e)} at {_when(e.timestamp)} concerned someone this person declared a conflict with "
                       f"(declaration {', '.join(f'#{n}' for n in which)})")


def _references_declared(declaration: ConflictDeclaration) -> list[str]:
    from audit.oversight.person_subjects import references_about_child, references_about_woman
    terms = declaration.index_terms
    out: list[str] = []
    column = "person_id_index" if declaration.kind == ConflictKind.PERSON_ID else "nhs_number_index"
    for pk in Woman.objects.filter(programme_id=declaration.programme_id, **{f"{column}__in": terms}) \
            .values_list("pk", flat=True):
        out += references_about_woman(pk)
    if declaration.kind == ConflictKind.PERSON_ID:
        for pk in Child.objects.filter(programme_id=declaration.programme_id, person_id_index__in=terms) \
                .values_list("pk", flat=True):
            out += references_about_child(pk)
    return out


REQUEST_REF = "audit.rightsrequest:"


def _request_openings(queryset):
    return queryset.filter(event=Event.CHANGE, action=0, object_repr__startswith=REQUEST_REF)


def _is_request_opening(e: AuditEntry) -> bool:
    return e.event == Event.CHANGE and e.action == 0 and (e.object_repr or "").startswith(REQUEST_REF)


def request_without_receipt(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    opened = {int(e.object_repr.split(":")[1]): e for e in entries if _is_request_opening(e)}
    if not opened:
        return
    recorded = dict(RightsRequest.objects.filter(pk__in=opened).values_list("pk", "received_via"))
    for pk, e in opened.items():
        if not recorded.get(pk):
            raised.add(FlagRule.NO_RECEIPT, e, f"Rights request #{pk} opened at {_when(e.timestamp)} with no recorded "
                                               "receipt (how the request was received)")


def requests_opened_fast(entries: list[AuditEntry], t: Thresholds, raised: _Raised) -> None:
    window = timedelta(hours=t.rights_request_hours)
    mine: dict[int, list[AuditEntry]] = {}
    for e in entries:
        if e.actor_id and _is_request_opening(e):
            mine.setdefault(e.actor_id, []).append(e)
    for actor_id, batch in mine.items():
        lo, hi = min(e.timestamp for e in batch), max(e.timestamp for e in batch)
        rows = list(_request_openings(AuditEntry.objects.filter(actor_id=actor_id, timestamp__gt=lo - window,
                                                                timestamp__lte=hi))
                    .order_by("timestamp", "id").values_list("id", "timestamp"))
        wanted = {e.pk: e for e in batch}
        start = 0
        for i, (entry_id, at) in enumerate(rows):
            while rows[start][1] <= at - window:
                start += 1
            count = i - start + 1
            entry = wanted.get(entry_id)
            if entry is not None and count > t.rights_requests and not raised.recent(
                    FlagRule.RAPID_REQUESTS, actor_id, at - window, at):
                raised.add(FlagRule.RAPID_REQUESTS, entry,
                           f"{count} rights requests opened within {t.rights_request_hours} hours up to "
                           f"{_when(at)} (more than {t.rights_requests})")


RULES = (out_of_hours, bulk_access, outside_caseload, repeated_refusals, declared_conflict, request_without_receipt,
         requests_opened_fast)


# --- the run ---------------------------------------------------------------------------------
def evaluate(entries: list[AuditEntry], thresholds: Thresholds | None = None) -> list[MonitoringFlag]:
    """The flags the rules raise over these entries (not saved)."""
    t, raised = thresholds or Thresholds.from_settings(), _Raised()
    entries = sorted(entries, key=lambda e: (e.timestamp, e.pk))
    for rule in RULES:
        rule(entries, t, raised)
    return raised.flags


def run_monitoring(batch: int = BATCH) -> int:
    """Read every entry sealed since the last run and raise flags; returns how many were raised."""
    sealing.seal_pending()
    raised = 0
    MonitoringCursor.objects.get_or_create(name=CURSOR)
    while True:
        with transaction.atomic():
            cursor = MonitoringCursor.objects.select_for_update().get(name=CURSOR)
            seals = list(AuditSeal.objects.filter(seq__gt=cursor.last_seq).order_by("seq")
                         .values_list("seq", "entry_id")[:batch])
            if not seals:
                cursor.ran_at = timezone.now()
                cursor.save(update_fields=["ran_at"])
                return raised
            entries = list(AuditEntry.objects.filter(id__in=[s[1] for s in seals]))
            flags = evaluate(entries)
            raised += len(MonitoringFlag.objects.bulk_create(flags, ignore_conflicts=True))
            cursor.last_seq, cursor.ran_at = seals[-1][0], timezone.now()
            cursor.save(update_fields=["last_seq", "ran_at"])
        if len(seals) < batch:
            return raised
