"""The end of scoping (issue 6, point 6): Pause-side scoping data purged, the scoping keys
destroyed, a deletion certificate left.

`end_scoping` runs when the phase moves on (the confirmer is named) or when the deadline passes
(`end_scoping_at_deadlines`, a periodic task: "by" is then nobody — the deadline). It deletes, in
one transaction: the snapshot's child and woman rows, the releases, Pause's notes and export
records, and every final report but the approved one; it destroys every scoping key of the
programme (tokens can then be neither made nor resolved); and it writes a `DeletionCertificate`
listing each store with its row count, the keys destroyed, what was kept, when, by whom, and a
SHA-256 digest of the certificate's canonical text. The Trust's own records are not touched.

Stores with nothing to delete are still listed, with the reason they hold nothing:
- cached pages: every page is served `Cache-Control: no-store` (pause_portal.middleware), and no
  scoping page or table is kept in the server's cache;
- queued jobs: tasks carry ids only and re-check the phase when they run, so a job queued about
  scoping data finds nothing to work on once it is gone.
The audit trail is kept (it is the DPO's tamper-evident record: its entries name rows by id only).
"""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.utils import timezone

from audit.log import record_event
from audit.models import Event
from pseudonymisation import keys
from pseudonymisation.models import Purpose
from sharing.models import Person, Phase, Programme
from sharing.models_scoping import (
    SCOPING_PURGED_MODELS,
    DeletionCertificate,
    FinalReport,
    ReportStatus,
)
from sharing.phases import scoping_deadline

SCOPING_KEY_PHASE = "scoping"
STORE_LABELS = {
    "sharing.scopingchildrow": "Released children (scoping snapshot)",
    "sharing.scopingwomanrow": "Released women (scoping snapshot)",
    "sharing.scopingrelease": "Scoping releases",
    "sharing.scopingnote": "Pause's scoping notes and analyses",
    "sharing.scopingexport": "Records of aggregate exports",
    "sharing.scopingtableversion": "Versions of the aggregate tables Pause was shown",
    "sharing.finalreport": "Final report drafts not approved",
}
NOTHING_HELD = (
    {"store": "Cached pages", "rows": 0, "note": "pages are served no-store; no scoping page is cached"},
    {"store": "Queued jobs", "rows": 0, "note": "tasks carry ids only and re-check the phase when they run"},
)


def end_scoping(programme: Programme, *, by: Person | None, trigger: str) -> DeletionCertificate:
    """Purge the programme's Pause-side scoping data and destroy its scoping keys, once; returns
    the deletion certificate (the existing one if scoping has already ended)."""
    with transaction.atomic():
        Programme.objects.select_for_update().filter(pk=programme.pk).first()  # one purge at a time
        existing = DeletionCertificate.objects.filter(programme=programme).first()
        if existing is not None:
            return existing
        stores = []
        for model in SCOPING_PURGED_MODELS:
            rows = model.objects.filter(programme=programme)
            stores.append({"store": STORE_LABELS[model._meta.label_lower], "rows": rows.count()})
            rows.delete()
        drafts = FinalReport.objects.filter(programme=programme).exclude(status=ReportStatus.APPROVED)
        stores.append({"store": STORE_LABELS["sharing.finalreport"], "rows": drafts.count()})
        drafts.delete()
        stores += [dict(s) for s in NOTHING_HELD]
        destroyed = []
        for purpose in Purpose:
            scope = keys.KeyScope(programme.pk, SCOPING_KEY_PHASE, purpose)
            versions = keys.destroy(scope)
            if versions:
                destroyed.append({"scope": scope.label(), "versions": versions})
        approved = FinalReport.objects.filter(programme=programme, status=ReportStatus.APPROVED).first()
        kept = [{"what": "Approved final report", "id": approved.pk}] if approved else []
        kept.append({"what": "The Trust's own records", "id": None})
        certificate = DeletionCertificate(
            programme=programme, purged_at=timezone.now(), purged_by=by, trigger=trigger[:40], stores=stores,
            keys_destroyed=destroyed, kept=kept,
        )
        certificate.digest = certificate_digest(certificate)
        certificate.save()
        record_event(
            Event.CHANGE, actor=by, target=certificate, programme=programme,
            reason=(f"scoping ended ({trigger}): " + ", ".join(f"{s['store']} {s['rows']}" for s in stores)
                    + f"; {sum(k['versions'] for k in destroyed)} scoping key versions destroyed"),
        )
    return certificate


def certificate_text(certificate: DeletionCertificate) -> str:
    """The certificate's canonical text (sorted keys, no spaces): what the digest is taken over."""
    return json.dumps({
        "programme": certificate.programme_id,
        "purged_at": certificate.purged_at.isoformat(),
        "purged_by": certificate.purged_by_id,
        "trigger": certificate.trigger,
        "stores": certificate.stores,
        "keys_destroyed": certificate.keys_destroyed,
        "kept": certificate.kept,
    }, sort_keys=True, separators=(",", ":"))


def certificate_digest(certificate: DeletionCertificate) -> str:
    return hashlib.sha256(certificate_text(certificate).encode()).hexdigest()


def end_scoping_at_deadlines(now=None) -> list[int]:
    """End scoping for every programme whose deadline has passed and that has no certificate yet;
    returns the certificates' ids. The deadline itself needs no worker (the disclosure policy reads
    the clock): this only makes the purge happen soon after."""
    now = now or timezone.now()
    ended = []
    candidates = Programme.objects.filter(phase=Phase.SCOPING).exclude(
        pk__in=DeletionCertificate.objects.values("programme_id"))
    for programme in candidates:
        deadline = scoping_deadline(programme)
        if deadline is not None and now >= deadline:
            ended.append(end_scoping(programme, by=None, trigger="deadline").pk)
    return ended
