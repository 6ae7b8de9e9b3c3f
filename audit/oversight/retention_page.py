"""What the retention page shows the DPO and the Caldicott Guardian (issue 22, point 7; ADR 41):
each retention run in words, every certificate of a purge that concerns the programme, and what
falls due in the next 90 days.

"What falls due" is a list of providers, one per kind of retention, each taking
(programme, now, days) and returning [{"what", "count", "earliest", "note"}] (`sharing.retention_due`
says what each key means). Another kind of retention joins the page by one line in `DUE_PROVIDERS`
(and its refusal, if it has its own, in `DUE_REFUSALS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from audit.core import retention as audit_retention
from audit.core.certificates import digest_holds
from audit.core.models import AuditEntry
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from eligibility.trust_copy_retention import RULES as TRUST_COPY_RULES
from pause_portal.tenancy.models import Programme
from sharing.models_delivery import RetentionRun
from sharing.models_scoping import DeletionCertificate
from sharing.retention import SHORT_LABELS, RetentionScheduleError
from sharing.retention_due import WINDOW_DAYS, falls_due, scoping_due
from sharing.scoping_purge import certificate_digest as scoping_certificate_digest
from sharing.trust_copy_schedule import trust_copy_due

DUE_PROVIDERS = (
    ("Pause's delivery records", falls_due),
    ("Pause's scoping data", scoping_due),
    ("The Trust's records in the portal", trust_copy_due),
    ("The audit trail (the whole deployment's)", lambda programme, now, days: audit_trail_due(now, days)),
)
DUE_REFUSALS = (RetentionScheduleError,)  # a provider that cannot forecast says why, the others go on
TRIGGER_WORDS = {
    "beat": "The daily schedule",
    "command": "manage.py apply_retention, on the server",
    "preview": "A preview from the retention page",
}


@dataclass
class DueSource:
    source: str
    items: list[dict]
    problem: str = ""


def due_within(programme: Programme, now: datetime, days: int = WINDOW_DAYS) -> list[DueSource]:
    out = []
    for source, provider in DUE_PROVIDERS:
        try:
            items = provider(programme, now, days)
        except DUE_REFUSALS as refused:
            out.append(DueSource(source, [], f"The forecast cannot be made: {refused}"))
            continue
        if items:
            out.append(DueSource(source, [_due_item(i, now) for i in items]))
    return out


def _due_item(item: dict, now: datetime) -> dict:
    """A provider's row as the page shows it: a day for "earliest" is taken as its start, and
    "category" is accepted for "what"."""
    earliest = item.get("earliest")
    if isinstance(earliest, date) and not isinstance(earliest, datetime):
        earliest = timezone.make_aware(datetime.combine(earliest, time.min))
    return dict(item, what=item.get("what") or item.get("category", ""), earliest=earliest,
                note=item.get("note", ""), due_now=bool(earliest and earliest <= now))


def run_counts(run: RetentionRun) -> list[dict]:
    """A run's categories in words, each with its count, or why it was kept."""
    out = []
    for key, done in (run.deleted or {}).items():
        out.append({"what": SHORT_LABELS.get(key, key.replace("_", " ").capitalize()), "count": done.get("count", 0),
                    "kept": bool(done.get("kept")), "awaiting": done.get("awaiting_hand_over") or 0})
    return out


def runs_of(programme: Programme):
    return RetentionRun.objects.filter(programme=programme).select_related("run_by", "certificate")


def trigger_words(run: RetentionRun) -> str:
    return TRIGGER_WORDS.get(run.trigger, run.trigger)


@dataclass
class CertificateRow:
    kind: str
    purged_at: datetime
    by: str
    trigger: str
    rows: int
    url: str
    holds: bool


def purge_certificates_for(programme: Programme):
    """The programme's purge certificates, and the deployment's own (the audit trail's: no programme)."""
    return PurgeCertificate.objects.filter(Q(programme=programme) | Q(programme__isnull=True)).select_related(
        "purged_by")


def certificate_rows(programme: Programme) -> list[CertificateRow]:
    rows = []
    scoping = DeletionCertificate.objects.filter(programme=programme).select_related("purged_by").first()
    if scoping is not None:
        rows.append(CertificateRow(
            "End of scoping", scoping.purged_at,
            scoping.purged_by.full_name if scoping.purged_by else "The portal, at the scoping deadline",
            scoping.trigger, sum(int(s.get("rows") or 0) for s in scoping.stores),
            reverse("scoping-report:certificate"), scoping_certificate_digest(scoping) == scoping.digest))
    for certificate in purge_certificates_for(programme):
        rows.append(CertificateRow(
            PurgeKind(certificate.kind).label, certificate.purged_at,
            certificate.purged_by.full_name if certificate.purged_by else certificate.schedule,
            certificate.trigger, certificate.rows_deleted,
            reverse("dpo:purge-certificate", args=[certificate.pk]), digest_holds(certificate)))
    return sorted(rows, key=lambda r: r.purged_at, reverse=True)


def trust_copy_counts(purge) -> list[dict]:
    """A Trust-copy dry run's counts, in the words the preview shows (women, per rule)."""
    return [{"what": TRUST_COPY_RULES[rule][0], "count": done["count"], "kept": "kept" in done}
            for rule, done in purge.done.items()]


def audit_trail_due(now: datetime, days: int) -> list[dict]:
    """The deployment's audit entries the daily purge removes within `days` (whole months older
    than PORTAL_AUDIT_RETENTION_DAYS, ADR 40), and the day the oldest month goes."""
    last_cutoff = audit_retention.scheduled_cutoff(timezone.localdate(now + timedelta(days=days)))
    due = AuditEntry.objects.filter(timestamp__lt=timezone.make_aware(datetime.combine(last_cutoff, time.min)))
    oldest = due.order_by("timestamp").values_list("timestamp", flat=True).first()
    if oldest is None:
        return []
    month = timezone.localtime(oldest).date().replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)  # the purge's cutoff must pass the whole month
    return [{"category": f"Audit entries older than the deployment's {settings.PORTAL_AUDIT_RETENTION_DAYS} days, "
                         "by whole months", "count": due.count(),
             "earliest": next_month + timedelta(days=settings.PORTAL_AUDIT_RETENTION_DAYS),
             "note": "the deployment's trail as a whole, every programme's entries"}]
