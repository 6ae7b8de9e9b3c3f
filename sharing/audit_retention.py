"""What the agreements ask of the audit trail's one retention period (issue 22, point 6; ADR 40).

The trail is one hash chain for the whole deployment, so it has one period,
`PORTAL_AUDIT_RETENTION_DAYS`. Each agreement says, in words, how long the audit trail is kept
(`retention["audit_trail"]`); the deployment's period may never be shorter than the longest of
those any live agreement asks for:

- a live agreement is the latest confirmed version of a programme's agreement, while the
  programme is not closed, or closed less than that period ago (its entries are still in the trail
  and its agreement still binds them);
- a period in words becomes days by a bound that never falls short: a year counts 366 days and a
  month 31 (`days_at_most`), so "6 years" is 2,196 days and "18 months" (a year and six months) 552;
- `check_audit_retention` is a database system check (error level: `migrate` and
  `manage.py check --database default` refuse) and `refuse_to_start_if_too_short` is what
  gunicorn's and Celery's start-up call (pause_portal.wsgi, pause_portal.celery); the trail's purge asks again through the kernel's
  hook (`longest_demand`, ADR 24) before it deletes anything; and a proposed agreement asking
  longer than the deployment's period is refused (`sharing.agreements.validate_agreement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.utils import timezone

from pause_portal.tenancy.models import Phase
from sharing.models_scoping import Agreement, ChangeStatus, PhaseChange
from sharing.retention import Period, parse_period

YEAR_DAYS = 366  # a leap year: the longest a year can be
MONTH_DAYS = 31  # the longest month


def days_at_most(period: Period) -> int:
    """The most days the period can span, whatever the calendar: a year is 366 days, a month 31."""
    years, months = divmod(period.months, 12)
    return years * YEAR_DAYS + months * MONTH_DAYS + period.days


@dataclass(frozen=True)
class Demand:
    agreement: Agreement
    words: str
    days: int | None  # None: the words are not a period the portal can compare

    def describe(self) -> str:
        return (f"{self.agreement.programme.name}'s agreement (version {self.agreement.version}) keeps the "
                f"audit trail \u201c{self.words}\u201d")


def live_demands(now=None) -> list[Demand]:
    """The audit-trail periods of the live agreements (see the module's docstring)."""
    now = now or timezone.now()
    latest: dict[int, Agreement] = {}
    for agreement in (Agreement.objects.filter(status=ChangeStatus.CONFIRMED).select_related("programme")
                      .order_by("programme_id", "-version")):
        latest.setdefault(agreement.programme_id, agreement)
    closed_at = dict(PhaseChange.objects.filter(to_phase=Phase.CLOSED, status=ChangeStatus.CONFIRMED)
                     .values_list("programme_id", "decided_at"))
    demands = []
    for agreement in latest.values():
        words = ((agreement.retention or {}).get("audit_trail") or "").strip()
        if not words:
            continue
        try:
            days = days_at_most(parse_period(words))
        except ValueError:
            days = None
        closed = closed_at.get(agreement.programme_id)
        if agreement.programme.phase == Phase.CLOSED and closed and days is not None and (
                closed + timedelta(days=days) <= now):
            continue  # closed longer ago than its period: none of its entries is still owed
        demands.append(Demand(agreement, words, days))
    return demands


def longest(demands: list[Demand]) -> Demand | None:
    counted = [d for d in demands if d.days is not None]
    return max(counted, key=lambda d: (d.days, -d.agreement.pk)) if counted else None


def too_short_message(demand: Demand, deployment_days: int) -> str:
    return (f"PORTAL_AUDIT_RETENTION_DAYS is {deployment_days} days, but {demand.describe()}, which is up to "
            f"{demand.days} days (a year counted as {YEAR_DAYS} days, a month as {MONTH_DAYS}): the audit trail "
            f"is one chain for the whole portal, so its period must be at least {demand.days} days.")


def audit_trail_problem(words: str) -> str | None:
    """What is wrong with a proposed agreement's audit-trail period, if anything: it must be a
    period the portal can compare, and no longer than the deployment keeps the trail."""
    try:
        days = days_at_most(parse_period(words))
    except ValueError as exc:
        return f"The audit trail's period: {exc}"
    deployment_days = settings.PORTAL_AUDIT_RETENTION_DAYS
    if days > deployment_days:
        return (f"The audit trail is kept for {deployment_days:,} days across the whole portal (the deployment's "
                f"period): “{words}” can be up to {days:,} days (a year counted as {YEAR_DAYS} days, a month "
                f"as {MONTH_DAYS}). Enter a period of at most {deployment_days:,} days, or ask the portal's "
                "administrators to keep the audit trail longer first")
    return None


def longest_demand(*, by=None) -> dict | None:
    """The kernel hook's handler (AUDIT_RETENTION_DEMAND): the longest live demand, in days."""
    demand = longest(live_demands())
    return None if demand is None else {"days": demand.days, "words": demand.describe()}


@register(Tags.database)
def check_audit_retention(app_configs=None, databases=None, **kwargs):
    """Error when the deployment keeps the audit trail for less than a live agreement asks. A
    database check (it reads the agreements): `migrate` and `check --database default` run it, and
    start-up runs it itself (`refuse_to_start_if_too_short`). A database that cannot be read yet
    (before the first migrate, or none reachable) is not checked here: start-up, the purge and the
    agreement form check it again."""
    if "default" not in (databases or ()):
        return []  # Django asks a database check only when it names the database
    try:
        demands = live_demands()
    except DatabaseError:
        return []
    deployment_days = settings.PORTAL_AUDIT_RETENTION_DAYS
    problems = []
    demand = longest(demands)
    if demand is not None and demand.days > deployment_days:
        problems.append(Error(too_short_message(demand, deployment_days),
                              hint=f"Set PORTAL_AUDIT_RETENTION_DAYS to {demand.days} or more, or record a "
                                   "new version of the agreement.", id="sharing.E040"))
    for unread in (d for d in demands if d.days is None):
        problems.append(Warning(f"{unread.describe()}, which is not a period the portal can compare with "
                                "PORTAL_AUDIT_RETENTION_DAYS.",
                                hint="Record a new version of the agreement with a period such as \u201c6 years\u201d.",
                                id="sharing.W040"))
    return problems


def refuse_to_start_if_too_short() -> None:
    """Start-up's refusal (gunicorn, Celery worker and beat): the error of the system check."""
    errors = [p for p in check_audit_retention(databases=["default"]) if p.is_serious()]
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")
