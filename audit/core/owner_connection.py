"""The audit tables' owner's connection: what the retention purge and the partitions' upkeep run
on (ADR 40, ADR 52). The alias `audit_owner` (PORTAL_AUDIT_OWNER_DATABASE_URL) when it is
configured, else this process's own connection (the owner's only where the process logs in as
the owner: `docker-compose run --rm migrate ...`, the audit-owner worker, SQLite)."""

from __future__ import annotations

from django.db import connections

OWNER_ALIAS = "audit_owner"


def owner_alias() -> str:
    return OWNER_ALIAS if OWNER_ALIAS in connections.settings else "default"  # settings.DATABASES, as held


def user_and_owner(alias: str) -> tuple[str, str] | None:
    """(the role the connection logs in as, the role owning the audit entries' table); None on a
    database without roles (SQLite)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT current_user, pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class "
                    "WHERE oid = 'audit_auditentry'::regclass")
        user, owner = cur.fetchone()
    return user, owner
