"""The DPO's reads of the audit trail: by person, by member of staff, and by filters.

Entries only — who, when, which page, which phase, which role and organisation, the reason, and
which subjects by reference — never the person's record. The DPO sees their own programme's
entries, and the sign-ins and other programme-less entries of the programme's people.

Every read of the trail here goes to the read replica when one is named (`pause_portal.read_replica`),
the flags (which the DPO changes and must see changed at once) to the primary.

`person_entries(references)` is the per-person search the benchmark measures (`bench/audit.py`):
the entries that named one of her references as a subject (the subject index), acted on one of
her records as their target (the object index) or were refused one of her pages, newest first —
their keys first, then the page's entries (`person_keys`, ADR 54).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from audit.core.models_review import FlagRule, MonitoringFlag
from audit.oversight.person_keys import PersonEntries, entry_keys, summary_rows
from audit.oversight.person_subjects import REFUSED_PAGE, pages_about
from pause_portal.read_replica import reading_alias
from pause_portal.tenancy.models import Membership

PER_PAGE = 50


class Action:
    """What the DPO filters by (the issue's vocabulary), in terms of events."""

    VIEW, EXPORT, CHANGE, REFUSED, SIGN_IN = "view", "export", "change", "refused", "sign_in"
    CHOICES = [
        (VIEW, "Views (disclosures)"),
        (EXPORT, "Exports"),
        (CHANGE, "Changes"),
        (REFUSED, "Refused requests"),
        (SIGN_IN, "Sign-ins and sign-outs"),
    ]
    LABELS = dict(CHOICES)


SIGN_IN_EVENTS = (Event.SIGN_IN, Event.SIGN_IN_FAILED, Event.LOCKOUT, Event.MFA_VERIFIED, Event.MFA_FAILED,
                  Event.SIGN_OUT, Event.SESSION_EXPIRED)
CHANGE_EVENTS = (Event.CHANGE, Event.ROLE_REQUESTED, Event.ROLE_CONFIRMED, Event.ROLE_REVOKED,
                 Event.PERSON_ADDED, Event.PERSON_DEACTIVATED, Event.PASSWORD_SET, Event.MFA_ENROLLED,
                 Event.MFA_RESET, Event.ACCOUNT_LINK_ISSUED, Event.AUDIT_BYPASS)
# An export is an entry whose page is an export address or whose reason says so (the scoping
# aggregate exports are recorded as changes: a ScopingExport row made), and the DPO's own exports.
EXPORT_Q = Q(event=Event.REVIEW_EXPORT) | (
    Q(event__in=(Event.DISCLOSURE, Event.CHANGE)) & (Q(page__contains="export") | Q(reason__icontains="export")))
ACTION_Q = {
    Action.VIEW: Q(event__in=(Event.DISCLOSURE, Event.REVIEW_SEARCH)) & ~EXPORT_Q,
    Action.EXPORT: EXPORT_Q,
    Action.CHANGE: Q(event__in=CHANGE_EVENTS) & ~EXPORT_Q,
    Action.REFUSED: Q(event=Event.REFUSED),
    Action.SIGN_IN: Q(event__in=SIGN_IN_EVENTS),
}


def action_of(entry: AuditEntry) -> str:
    """The filter an entry falls under (for display and CSV)."""
    if entry.event == Event.REVIEW_EXPORT or (
            entry.event in (Event.DISCLOSURE, Event.CHANGE)
            and ("export" in (entry.page or "") or "export" in (entry.reason or "").lower())):
        return Action.EXPORT
    if entry.event in (Event.DISCLOSURE, Event.REVIEW_SEARCH):
        return Action.VIEW
    if entry.event == Event.REFUSED:
        return Action.REFUSED
    if entry.event in SIGN_IN_EVENTS:
        return Action.SIGN_IN
    return Action.CHANGE


def programme_scope(programme) -> Q:
    """The entries a programme's DPO reviews: the programme's own, and the programme-less entries
    (sign-ins, refusals before a programme was chosen) of anyone who holds or held a role in it."""
    members = Membership.objects.filter(programme=programme).values("person_id")
    return Q(programme=programme) | Q(programme__isnull=True, actor_id__in=members)


# --- by person -------------------------------------------------------------------------------
# What a review page or export shows of an entry, and of whom and where (not a staff member's
# password hash or email: only their name).
SHOWN = ("id", "timestamp", "event", "action", "actor", "role", "organisation", "programme", "phase", "page",
         "status_code", "reason", "subject_count", "object_repr", "actor__full_name", "organisation__name",
         "programme__name")


def _shown(entries: QuerySet) -> QuerySet:
    """What the pages show, read from the replica when there is one (its subqueries in the same
    statement): the trail's biggest reads stay off the primary."""
    return (entries.using(reading_alias()).select_related("actor", "organisation", "programme").only(*SHOWN)
            .order_by("-timestamp", "-id"))


def person_entries_queryset(references: list[str]) -> PersonEntries:
    """Every entry about the references, newest first: a sequence a Paginator pages and an export
    slices (`person_keys`: its count is its keys', a slice reads only its own entries)."""
    return PersonEntries(entry_keys(references), _shown(AuditEntry.objects.all()))


def person_entries(references: list[str], *, page: int | str = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the entries about a person, newest first (the per-person search)."""
    return Paginator(person_entries_queryset(references), per_page).get_page(page)


def matched_subjects(entries: list[AuditEntry], references: list[str]) -> dict[int, list[str]]:
    """For each entry shown, which of the person's references it named (or acted on)."""
    wanted = set(references)
    out: dict[int, list[str]] = {e.pk: [] for e in entries}
    # (with the entries' times: only their months' subjects are read)
    for entry_id, subject in AuditSubject.objects.using(reading_alias()).filter(
            entry_id__in=list(out), entry_time__in=sorted({e.timestamp for e in entries}),
            subject__in=references).values_list("entry_id", "subject"):
        out[entry_id].append(subject)
    pages = set(pages_about(references))
    for e in entries:
        if e.object_repr in wanted and e.object_repr not in out[e.pk]:
            out[e.pk].append(e.object_repr)
        out[e.pk].sort()
        if e.event == Event.REFUSED and e.page in pages:
            out[e.pk].append(REFUSED_PAGE)
    return out


@dataclass
class PersonSummary:
    entries: int
    people: int  # distinct members of staff
    first: datetime | None
    last: datetime | None
    by_action: dict[str, int]


def person_summary(references: list[str], keys: list | None = None) -> PersonSummary:
    """`keys`: her entries' keys when already read (`PersonEntries.keys`), so they are not read twice."""
    rows = summary_rows(entry_keys(references) if keys is None else keys)
    actions: Counter = Counter()
    for _, _, event, page, reason in rows:
        actions[action_of(AuditEntry(event=event, page=page, reason=reason))] += 1
    times = [r[1] for r in rows]
    return PersonSummary(entries=len(rows), people=len({r[0] for r in rows if r[0]}),
                         first=min(times) if times else None, last=max(times) if times else None,
                         by_action={label: actions[key] for key, label in Action.CHOICES if actions[key]})


# --- by filters and by member of staff --------------------------------------------------------
@dataclass
class TrailFilters:
    user_id: int | None = None
    organisation_id: int | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    flag: str = ""  # "" (any entry), "any" (flagged by any rule) or a FlagRule value

    def as_criteria(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v}

    @classmethod
    def from_criteria(cls, criteria: dict) -> TrailFilters:
        values = dict(criteria)
        for key in ("date_from", "date_to"):
            if values.get(key):
                values[key] = date.fromisoformat(values[key])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def trail_entries(programme, filters: TrailFilters) -> QuerySet:
    rows = AuditEntry.objects.filter(programme_scope(programme))
    if filters.user_id:
        rows = rows.filter(actor_id=filters.user_id)
    if filters.organisation_id:
        rows = rows.filter(organisation_id=filters.organisation_id)
    if filters.action:
        rows = rows.filter(ACTION_Q[filters.action])
    if filters.date_from:
        rows = rows.filter(timestamp__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        rows = rows.filter(timestamp__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    if filters.flag:
        flags = MonitoringFlag.objects.all() if filters.flag == "any" else MonitoringFlag.objects.filter(
            rule=FlagRule(filters.flag))
        rows = rows.filter(id__in=flags.values("entry_id"))
    return _shown(rows)


@dataclass
class UserSummary:
    entries: int
    subjects_shown: int
    by_action: dict[str, int]
    open_flags: int
    flags: int


def user_summary(programme, user_id: int) -> UserSummary:
    rows = list(AuditEntry.objects.using(reading_alias()).filter(programme_scope(programme), actor_id=user_id)
                .values_list("event", "page", "reason", "subject_count"))
    actions: Counter = Counter()
    for event, page, reason, _ in rows:
        actions[action_of(AuditEntry(event=event, page=page, reason=reason))] += 1
    flags = MonitoringFlag.objects.filter(actor_id=user_id).filter(Q(programme=programme) | Q(programme__isnull=True))
    return UserSummary(entries=len(rows), subjects_shown=sum(r[3] for r in rows),
                       by_action={label: actions[key] for key, label in Action.CHOICES if actions[key]},
                       open_flags=flags.filter(status="open").count(), flags=flags.count())


def flags_in_scope(programme) -> QuerySet[MonitoringFlag]:
    """The flags a programme's DPO reviews: the programme's, and programme-less ones about its people."""
    members = Membership.objects.filter(programme=programme).values("person_id")
    return MonitoringFlag.objects.filter(Q(programme=programme) | Q(programme__isnull=True, actor_id__in=members))


def flags_by_entry(entries: list[AuditEntry]) -> dict[int, list[MonitoringFlag]]:
    out: dict[int, list[MonitoringFlag]] = {}
    for flag in MonitoringFlag.objects.filter(entry_id__in=[e.pk for e in entries]):
        out.setdefault(flag.entry_id, []).append(flag)
    return out
