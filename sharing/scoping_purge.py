"""The end of scoping (issue 6, point 6): Pause-side scoping data purged, the scoping keys
destroyed, a deletion certificate left.

`end_scoping` runs when the phase moves on (the confirmer is named) or when the deadline passes
(`end_scoping_at_deadlines`, a periodic task: "by" is then nobody — the deadline). It deletes, in
one transaction: the snapshot's child and woman rows, the releases, Pause's notes and export
records, and every final report but the approved one; it destroys every scoping key of the
programme (tokens can then be neither made nor resolved); and it writes a `DeletionCertificate`
listing each store with its row count, the keys destroyed, what was kept, when, by whom, and a
SHA-256 digest of the certificate's canonical text. The Trust's own records are not touched.

Keys (ADR 22): once the purge commits, each destroyed scope's secret is deleted from the key store
(so the wrapped key bytes the database cannot forget, in dead rows, WAL and backups, no longer
unwrap) and the key table is vacuumed (`VACUUM FULL`, which cannot run inside the purge's
transaction and needs the table's owner). `finish_key_destruction` then completes the
certificate's `keys_destroyed`: for each scope, what was destroyed and when, and what still
remains where, until when, and why it cannot be unwrapped; a vacuum that could not run says why.
Until then the certificate says these steps are pending, which is true.

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
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.core import certificates
from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_certificates import PurgeCertificate
from pause_portal.tenancy.models import Person, Phase, Programme
from pseudonymisation import custody, keys
from pseudonymisation.models import Purpose
from sharing.models_scoping import (
    SCOPING_PURGED_MODELS,
    DeletionCertificate,
    FinalReport,
    ReportStatus,
)
from sharing.scoping_term import scoping_deadline

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
            if keys.destroy(scope):  # its secret leaves the key store once this commits
                destroyed.append(key_destruction_entry(scope, dead_rows=VACUUM_PENDING))
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
        if destroyed:
            transaction.on_commit(partial(finish_key_destruction, certificate.pk, vacuum=True), robust=True)
    return certificate


# --- the keys: what was destroyed, and what remains where ---------------------------------
VACUUM_PENDING = {"done": False, "at": None, "how": "", "why_not": "to be vacuumed once the purge commits"}


def _day(moment, days: int) -> str:
    return timezone.localtime(moment + timedelta(days=days)).date().isoformat()


def _when(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def key_destruction_entry(scope: keys.KeyScope, *, dead_rows: dict) -> dict:
    """One destroyed scope, as the certificate states it: what was destroyed and when, and what
    still remains where (the main database's WAL and backups, the key store's backups, dead row
    versions in the key table's file), until when, and why it cannot be unwrapped."""
    facts = custody.destruction_facts(scope)
    database_days = settings.PORTAL_DATABASE_BACKUP_DAYS
    store_days = settings.PORTAL_KEY_STORE_BACKUP_DAYS
    destroyed_at, deleted_at = facts["destroyed_at"], facts["secret_deleted_at"]
    master = facts["master_secret"]
    database_until = _day(destroyed_at, database_days)
    if deleted_at is not None:
        secret = (f"Wrapped key bytes may remain in the WAL and backups of the main database until {database_until} "
                  f"(its backups are kept {database_days} days); they cannot be unwrapped, because the scope's secret "
                  f"was deleted from the key store at {_when(deleted_at)}. The key store's backups are kept {store_days} "
                  f"days: one may hold that secret until {_day(deleted_at, store_days)}, when the destruction is "
                  "complete.")
    elif facts["secret_in_store"]:
        secret = (f"The scope's secret is still in the key store: it is deleted once the purge commits. Until then "
                  f"the wrapped key bytes in the WAL and backups of the main database (kept {database_days} days, until "
                  f"{database_until}) unwrap with it and the master secret {master}.")
    else:
        secret = (f"The scope never had a secret in the key store (its keys were made before per-scope secrets): its "
                  f"wrapped key bytes in the WAL and backups of the main database (kept {database_days} days, until "
                  f"{database_until}) were wrapped under the master secret {master} alone.")
    sentences = [secret]
    if facts["master_only_copies_until"] is not None:
        until = _when(facts["master_only_copies_until"])
        if facts["master_rotated_since"] is not None:
            sentences.append(f"Copies wrapped before {until} under the master secret {master} alone may remain there "
                             f"too; {master} was replaced at {_when(facts['master_rotated_since'])}, so they unwrap "
                             "only with the old secret, which must be destroyed with its backups.")
        else:
            sentences.append(f"Copies wrapped before {until} under the master secret {master} alone may remain there "
                             f"too: they unwrap with {master} until it is rotated (manage.py rotate_master_secrets) "
                             "and the old secret destroyed.")
    if dead_rows["done"]:
        sentences.append(f"The key table's dead row versions were removed from its file ({dead_rows['how']}) at "
                         f"{dead_rows['at']}.")
    else:
        sentences.append(f"The key table's dead row versions were not vacuumed ({dead_rows['why_not']}): they stay in "
                         "its file until it is, bound by the same secrets as the copies above.")
    return {
        "scope": facts["scope"],
        "versions": facts["versions"],
        "wrapped_key_deleted_at": _when(destroyed_at),
        "scope_secret_deleted_at": _when(deleted_at),
        "key_store_backups_kept_days": store_days,
        "database_backups_kept_days": database_days,
        "master_only_copies_until": _when(facts["master_only_copies_until"]),
        "dead_rows": dict(dead_rows),
        "remains": " ".join(sentences),
    }


def _digests() -> dict:
    """Each certificate model that states destroyed keys, with the digest over its canonical text:
    scoping's `DeletionCertificate` and the purge certificates of `audit.core.certificates`
    (closing a programme, ADR 39)."""
    return {DeletionCertificate: certificate_digest, PurgeCertificate: certificates.certificate_digest}


def finish_key_destruction(certificate_id: int, *, vacuum: bool = False,
                           outcome: custody.VacuumOutcome | None = None,
                           model: type[DeletionCertificate | PurgeCertificate] = DeletionCertificate):
    """After the purge commits: delete the destroyed scopes' secrets from the key store (again,
    idempotently: a crash may have stopped the first try), vacuum the key table if `vacuum` (or
    take a vacuum's `outcome`), and restate the certificate's keys with what is now true, with a
    new digest and an audit entry. Nothing is rewritten when nothing changed. `model` is the
    certificate's model (a scoping `DeletionCertificate` unless said)."""
    digest = _digests()[model]
    certificate = model.objects.get(pk=certificate_id)
    scopes = [keys.KeyScope.from_label(entry["scope"]) for entry in certificate.keys_destroyed]
    for scope in scopes:
        keys.forget_scope_secret(scope)
    before = certificate.keys_destroyed[0].get("dead_rows", VACUUM_PENDING) if certificate.keys_destroyed else VACUUM_PENDING
    dead_rows = before
    if not before["done"]:
        if outcome is None and vacuum:
            outcome = custody.vacuum_key_table()
        if outcome is not None:
            dead_rows = outcome.as_dict()
            if not outcome.done and before.get("at") and before["why_not"] == outcome.why_not:
                dead_rows = before  # tried again, for the same reason: nothing new to state
    entries = [key_destruction_entry(scope, dead_rows=dead_rows) for scope in scopes]
    if entries == certificate.keys_destroyed:
        return certificate
    with transaction.atomic():
        certificate = model.objects.select_for_update().get(pk=certificate_id)
        certificate.keys_destroyed = entries
        certificate.digest = digest(certificate)
        certificate.save(update_fields=["keys_destroyed", "digest"])
        deleted = [e["scope"] for e in entries if e["scope_secret_deleted_at"]]
        whose = "scoping keys" if model is DeletionCertificate else f"keys of {certificate}"
        record_event(
            Event.CHANGE, actor=None, target=certificate, programme=certificate.programme,
            reason=(f"{whose}: secrets deleted from the key store for {', '.join(deleted) or 'no scope yet'}; "
                    + ("key table vacuumed" if dead_rows["done"] else f"key table not vacuumed ({dead_rows['why_not']})")),
        )
    return certificate


def finish_pending_key_destruction(*, outcome: custody.VacuumOutcome | None = None) -> list[int]:
    """Finish every certificate whose keys are not yet fully stated: a scope secret still to be
    deleted (a crash after a purge's commit), or, given a vacuum's `outcome`, dead rows still to be
    vacuumed. Returns the certificates rewritten. (Certificates written before ADR 22 are left as
    they were: their scopes had no secret to delete.)"""
    keys.forget_destroyed_scope_secrets()
    finished = []
    for model in _digests():
        for certificate in model.objects.exclude(keys_destroyed=[]).order_by("pk"):
            entries = certificate.keys_destroyed
            if not all("remains" in e for e in entries):
                continue
            secret_pending = any(not e.get("scope_secret_deleted_at") for e in entries)
            vacuum_pending = outcome is not None and any(not e.get("dead_rows", {}).get("done") for e in entries)
            if secret_pending or vacuum_pending:
                if finish_key_destruction(certificate.pk, outcome=outcome, model=model).keys_destroyed != entries:
                    finished.append(certificate.pk)
    return finished


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
    finish_pending_key_destruction()  # a purge whose key-store step a crash interrupted
    return ended
