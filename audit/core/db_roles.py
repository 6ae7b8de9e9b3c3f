"""The two database roles (PostgreSQL).

- The owner role runs migrations, the logged retention purge and (in the tests) the flush.
- The application role (settings.PORTAL_APP_DB_ROLE) reads and writes the portal's tables but has
  only INSERT and SELECT on the append-only tables (`APPEND_ONLY_TABLES`): no UPDATE, DELETE or
  TRUNCATE. Granted after every migrate, so new tables are covered. The audit app's working
  tables (rights requests, breaches, monitoring flags and cursors, conflict declarations, the
  tally of refusals without sign-in) stay updatable like the rest.
- On PostgreSQL the entries, subjects and seals are partitioned by month (ADR 52): the role's
  privileges are on the partitioned tables, through which every row is reached; it has none at
  all on any partition (a partition is reached only through its table, or by the owner).

A trigger (`portal_audit_append_only`, migrations audit 0003 and 0010) refuses UPDATE, DELETE and
TRUNCATE on the same tables as a second layer, for every role, unless the session set
`portal.audit_bypass` — which only the logged bypass in `audit.core.bypass` does — *and* the role
running the statement owns the table. Any role can set that setting; only the owner gets past.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

# Audit entries and their subjects, the seals and purge anchors of the hash chain, the DPO's
# record of their own searches, and erasure records: written once, never changed.
APPEND_ONLY_TABLES = ("audit_auditentry", "audit_auditsubject", "audit_auditseal", "audit_auditchainanchor",
                      "audit_reviewsearch", "audit_erasurerecord")


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
    """Grant `role` the application's privileges through this cursor (Django's, or psycopg's)."""
    quoted = connection.ops.quote_name(role)
    cur.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
    cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    # Only the tables this database has (a migrate back to an earlier state may lack the newer);
    # 'p': a partitioned table.
    cur.execute("SELECT relname FROM pg_catalog.pg_class WHERE relkind IN ('r', 'p') AND relname = ANY(%s) "
                "AND relnamespace = 'public'::regnamespace AND NOT relispartition", [list(APPEND_ONLY_TABLES)])
    present = sorted(row[0] for row in cur.fetchall())
    if present:
        tables = ", ".join(present)
        cur.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {quoted}")
        cur.execute(f"GRANT SELECT, INSERT ON {tables} TO {quoted}")
    partitions = audit_partitions(cur)
    if partitions:
        cur.execute(f"REVOKE ALL ON {', '.join(partitions)} FROM {quoted}")


def audit_partitions(cur) -> list[str]:
    """Every partition of an append-only table (PostgreSQL), at any depth."""
    cur.execute("SELECT c.relname FROM pg_catalog.pg_class p, pg_catalog.pg_partition_tree(p.oid) t "
                "JOIN pg_catalog.pg_class c ON c.oid = t.relid WHERE p.relname = ANY(%s) "
                "AND p.relnamespace = 'public'::regnamespace AND p.relkind = 'p' "
                "AND t.level > 0 ORDER BY 1", [list(APPEND_ONLY_TABLES)])
    return [row[0] for row in cur.fetchall()]
