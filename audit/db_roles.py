"""The two database roles (PostgreSQL).

- The owner role runs migrations and the logged retention purge.
- The application role (settings.PORTAL_APP_DB_ROLE) reads and writes the portal's tables but has
  only INSERT and SELECT on the audit tables. Granted after every migrate, so new tables are covered.

A trigger (migration audit/0002) refuses UPDATE, DELETE and TRUNCATE on the audit tables as a
second layer, for every role, unless the session set `portal.audit_bypass` — which only the
logged bypass in `audit.bypass` does.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

AUDIT_TABLES = ("audit_auditentry", "audit_auditsubject", "audit_auditseal", "audit_auditchainanchor")


def grant_application_role(sender=None, using="default", **kwargs) -> None:
    role = settings.PORTAL_APP_DB_ROLE
    if connection.vendor != "postgresql" or not role:
        return
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            # Named but missing: the application would meet "permission denied" later. Say it now.
            raise ImproperlyConfigured(
                f"PORTAL_APP_DB_ROLE names the database role {role!r}, which does not exist: create it "
                "(deploy/postgres-init/01-roles.sh does) and run migrate again."
            )
        apply_grants(cur, role)


def apply_grants(cur, role: str) -> None:
    quoted = connection.ops.quote_name(role)
    cur.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
    cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    tables = ", ".join(AUDIT_TABLES)
    cur.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {quoted}")
    cur.execute(f"GRANT SELECT, INSERT ON {tables} TO {quoted}")
