"""The one, logged way past the audit trigger: the test suite's flush and the retention purge.

It sets `portal.audit_bypass` for the current transaction only, and logs that it did. It works
only under the owner role: the trigger honours the setting only when the role running the
statement owns the table (migration audit 0010) — any role may set the setting itself — and the
application role has no UPDATE, DELETE or TRUNCATE on the append-only tables anyway
(`audit.core.db_roles`). Under any other role, statements in the block are refused as outside it.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.db import connections, transaction

log = logging.getLogger("audit.bypass")  # the logger name operators route by: kept through the move (ADR 23)


@contextmanager
def audit_bypass(reason: str, using: str = "default"):
    connection = connections[using]
    log.warning("audit bypass opened on %s: %s", using, reason)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(using=using):
        if postgres:
            with connection.cursor() as cur:
                cur.execute("SET LOCAL portal.audit_bypass = 'on'")
        try:
            yield
        finally:
            # Inside an outer transaction this block is only a savepoint, and SET LOCAL would
            # outlive it: switch the bypass off explicitly.
            if postgres and not connection.needs_rollback:
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL portal.audit_bypass = 'off'")
    log.warning("audit bypass closed on %s", using)
