"""The purge certificate of a retention run (issue 22, point 3; ADR 41).

A real run of `sharing.retention.apply_retention` that deleted any row calls `issue_for_run` inside
the run's own transaction: the certificate (`audit.core.certificates.issue`, kind "retention")
names every table the run deleted from, with its row count (summed over the categories), what the
run kept and why, and what remains where; the backups' copies are always added by `issue`. A dry
run, or a run that deleted nothing, has no certificate: there was no purge to certify.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.apps import apps
from django.conf import settings

from audit.core import certificates
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from pause_portal.tenancy.models import Membership, Person, Programme
from pause_portal.tenancy.roles import Role
from sharing.models_markers import DoNotApproachMarker

BEAT_ENTRY = "delivery-retention"  # its entry in CELERY_BEAT_SCHEDULE
STORE_WORDS = {
    "sharing.ReleasedWoman": "Released women",
    "sharing.ReleasedChild": "Their children's delivery records",
    "sharing.ContactAttempt": "Contact attempts",
    "sharing.SafeguardingConcern": "Safeguarding concerns and serious incidents",
    "sharing.CaseloadAssignment": "Caseload assignments",
    "sharing.CaseloadUserObjectPermission": "Practitioners' access to the women in their caseload",
    "sharing.CaseloadGroupObjectPermission": "Group access to caseloads",
    "sharing.AbsenceConfirmation": "Confirmations that an absent woman stays shared",
    "sharing.ReleaseReinstatement": "Reinstatements of a release",
    "sharing.QuarterlyReport": "Quarterly report drafts",
    "sharing.DoNotApproachMarker": "Do-not-approach markers",
}
ALWAYS_KEPT = (
    {"what": "Everything about a woman with an open safeguarding concern or serious incident", "table": "",
     "rows": None},
    {"what": "The Trust's own records (not touched by Pause's retention)", "table": "", "rows": None},
    {"what": "The audit trail, to its own retention period", "table": "", "rows": None},
)


def rows_deleted(deleted: dict) -> int:
    """How many rows a run's per-category counts say were deleted (0 for a run that kept all)."""
    return sum(sum(done.get("rows", {}).values()) for done in deleted.values())


def beat_time() -> str:
    """The time of day the beat runs the schedule, as settings say ("02:30")."""
    schedule = settings.CELERY_BEAT_SCHEDULE[BEAT_ENTRY]["schedule"]
    hours, minutes = sorted(schedule.hour), sorted(schedule.minute)
    if len(hours) == 1 and len(minutes) == 1:
        return f"{hours[0]:02d}:{minutes[0]:02d}"
    return "on its crontab"


def _role_words(person: Person, programme: Programme) -> str:
    membership = Membership.objects.filter(person=person, programme=programme).first()
    if membership is not None:
        return f"the {Role(membership.role).label}"
    return "a system administrator" if person.is_system_admin else "a member of staff"


def schedule_words(trigger: str, by: Person | None, programme: Programme) -> str:
    """Which schedule or command ran the purge, in words."""
    if trigger == "beat":
        return f"daily retention schedule (Celery beat, {beat_time()})"
    who = _role_words(by, programme) if by is not None else "a system administrator, on the server"
    if trigger == "command":
        return f"manage.py apply_retention by {who}"
    return f"retention run ({trigger}) by {who}"


def stores_of(deleted: dict) -> list[dict]:
    """One store per table, with its rows summed over the run's categories."""
    rows = Counter()
    for done in deleted.values():
        rows.update(done.get("rows", {}))
    out = []
    for label, n in sorted(rows.items()):
        meta = apps.get_model(label)._meta
        out.append(certificates.store(STORE_WORDS.get(label, str(meta.verbose_name_plural).capitalize()),
                                      meta.db_table, n))
    return out


def kept_by(deleted: dict, programme: Programme, now: datetime) -> list[dict]:
    from sharing.retention import SHORT_LABELS  # here: sharing.retention imports this module

    kept = [{"what": f"{SHORT_LABELS[key]}: kept, the agreement gives no period", "table": "", "rows": None}
            for key, done in deleted.items() if "kept" in done]
    women = deleted.get("released_women", {}).get("awaiting_hand_over")
    if women:
        kept.append({"what": "Released women past their period, kept until the Trust files their closed concerns "
                             "in its case record", "table": "sharing_releasedwoman", "rows": women})
    concerns = deleted.get("closed_concerns", {}).get("awaiting_hand_over")
    if concerns:
        kept.append({"what": "Closed concerns past their period, kept until the Trust files them in its case record",
                     "table": "sharing_safeguardingconcern", "rows": concerns})
    markers = DoNotApproachMarker.objects.filter(programme=programme, until__gt=now).count()
    if markers:
        kept.append({"what": "Do-not-approach markers still in force (a blind index each, nothing readable)",
                     "table": DoNotApproachMarker._meta.db_table, "rows": markers})
    return kept + [dict(k) for k in ALWAYS_KEPT]


def issue_for_run(run, *, programme: Programme, by: Person | None, women: list[int]) -> PurgeCertificate:
    """The certificate of this real run, which deleted something (call inside its transaction)."""
    now = run.finished_at
    remains = []
    if women:
        remains.append({"what": f"Audit entries naming the {len(women)} released women deleted, by their portal "
                                "reference only", "where": "the audit trail", "until": None})
    return certificates.issue(
        PurgeKind.RETENTION, programme=programme, by=by, schedule=schedule_words(run.trigger, by, programme),
        trigger=f"retention run #{run.pk}", stores=stores_of(run.deleted), kept=kept_by(run.deleted, programme, now),
        remains=remains, now=now,
    )
