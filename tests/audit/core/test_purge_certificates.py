"""Purge certificates (issue 22, point 3): the digest re-checks, an edit is found out, and every
certificate states what remains in the backups until their rotation date."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.core import certificates
from audit.core.models import AuditEntry
from audit.core.models_certificates import PurgeCertificate, PurgeKind

pytestmark = pytest.mark.django_db


def _issue(programme, by=None):
    return certificates.issue(
        PurgeKind.RETENTION, programme=programme, by=by, schedule="daily retention schedule (Celery beat)",
        trigger="retention run #1",
        stores=[certificates.store("Contact attempts", "sharing_contactattempt", 3)],
        kept=[{"what": "Approved quarterly reports", "table": "sharing_quarterlyreport", "rows": 2}],
    )


def test_the_digest_recomputes_independently(programme):
    cert = PurgeCertificate.objects.get(pk=_issue(programme).pk)
    fields = {"kind": cert.kind, "programme": cert.programme_id, "purged_at": cert.purged_at.isoformat(),
              "purged_by": None, "schedule": cert.schedule, "trigger": cert.trigger, "stores": cert.stores,
              "keys_destroyed": [], "kept": cert.kept, "remains": cert.remains}
    expected = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert cert.digest == expected
    assert certificates.digest_holds(cert)


def test_an_edited_certificate_no_longer_holds(programme):
    cert = _issue(programme)
    PurgeCertificate.objects.filter(pk=cert.pk).update(stores=[{"store": "Contact attempts",
                                                                "table": "sharing_contactattempt", "rows": 0}])
    assert not certificates.digest_holds(PurgeCertificate.objects.get(pk=cert.pk))


def test_backups_remain_until_their_rotation_date(programme, settings):
    settings.PORTAL_DATABASE_BACKUP_DAYS = 35
    cert = _issue(programme)
    backup = cert.remains[-1]
    assert backup["until"] == timezone.localtime(cert.purged_at + timedelta(days=35)).date().isoformat()
    assert "35 days" in backup["where"]


def test_issuing_is_audited(programme, dpo):
    cert = _issue(programme, by=dpo)
    entry = AuditEntry.objects.filter(object_pk=str(cert.pk), reason__contains="purge certificate").get()
    assert "3 rows deleted from 1 stores" in entry.reason


def test_a_store_without_its_table_is_refused(programme):
    with pytest.raises(ValueError, match="table"):
        certificates.issue(PurgeKind.CLOSURE, programme=programme, by=None, schedule="x", trigger="y",
                           stores=[{"store": "Women", "rows": 1}])
    assert not PurgeCertificate.objects.exists()
