"""Issuing and re-checking purge certificates (issue 22, point 3; `audit.core.models_certificates`).

Every purge outside scoping calls `issue` inside its own transaction, after deleting: the
certificate names each store with its table and row count, the keys destroyed, what was kept, and
what still remains where. Copies of deleted rows remain in the main database's write-ahead log and
backups until those backups rotate (`PORTAL_DATABASE_BACKUP_DAYS`); `issue` always states that,
with the date, so no certificate claims more than was done. An audit entry records the issue.

The digest is SHA-256 over the canonical text (sorted keys, no spaces) of every field but the
digest itself; `digest_holds` recomputes it, so an edited certificate is found out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind


def backups_remain(now: datetime) -> dict:
    """What every purge leaves behind: the deleted rows' copies in the main database's WAL and
    backups, until the deployment's backup rotation removes them."""
    days = settings.PORTAL_DATABASE_BACKUP_DAYS
    until = timezone.localtime(now + timedelta(days=days)).date().isoformat()
    return {"what": "Copies of the deleted rows", "until": until,
            "where": f"the main database's write-ahead log and backups, which are kept {days} days"}


def certificate_text(certificate: PurgeCertificate) -> str:
    """The canonical text the digest is taken over."""
    return json.dumps({
        "kind": certificate.kind,
        "programme": certificate.programme_id,
        "purged_at": certificate.purged_at.isoformat(),
        "purged_by": certificate.purged_by_id,
        "schedule": certificate.schedule,
        "trigger": certificate.trigger,
        "stores": certificate.stores,
        "keys_destroyed": certificate.keys_destroyed,
        "kept": certificate.kept,
        "remains": certificate.remains,
    }, sort_keys=True, separators=(",", ":"))


def certificate_digest(certificate: PurgeCertificate) -> str:
    return hashlib.sha256(certificate_text(certificate).encode()).hexdigest()


def digest_holds(certificate: PurgeCertificate) -> bool:
    """Whether the stored digest is still the digest of what the certificate says."""
    return certificate.digest == certificate_digest(certificate)


def store(label: str, table: str, rows: int) -> dict:
    return {"store": label, "table": table, "rows": int(rows)}


def issue(kind: str, *, programme, by, schedule: str, trigger: str, stores: Iterable[dict],
          keys_destroyed: Iterable[dict] = (), kept: Iterable[dict] = (), remains: Iterable[dict] = (),
          now: datetime | None = None, using: str = "default") -> PurgeCertificate:
    """Write the certificate of a purge just made (inside the purge's transaction, on its
    connection: `using`), with its digest and an audit entry. `remains` is added to the backups'
    copies, which always remain."""
    if kind not in PurgeKind.values:
        raise ValueError(f"{kind!r} is not a kind of purge: {', '.join(PurgeKind.values)}")
    stores = [dict(s) for s in stores]
    for entry in stores:
        if set(entry) < {"store", "table", "rows"}:
            raise ValueError(f"a store needs its words, table and row count: {entry!r}")
    now = now or timezone.now()
    certificate = PurgeCertificate(
        kind=kind, programme=programme, purged_at=now, purged_by=by, schedule=schedule[:200],
        trigger=trigger[:80], stores=stores, keys_destroyed=[dict(k) for k in keys_destroyed],
        kept=[dict(k) for k in kept], remains=[dict(r) for r in remains] + [backups_remain(now)],
    )
    certificate.digest = certificate_digest(certificate)
    with transaction.atomic(using=using):
        certificate.save(using=using)
        record_event(Event.CHANGE, actor=by, target=certificate, programme=programme, using=using,
                     reason=(f"{PurgeKind(kind).label}: purge certificate #{certificate.pk} ({trigger}): "
                             f"{sum(s['rows'] for s in stores)} rows deleted from {len(stores)} stores"
                             + (f", {len(certificate.keys_destroyed)} key scopes destroyed"
                                if certificate.keys_destroyed else "")))
    return certificate
