"""PostgreSQL roles in the audit tests: a role granted as every migrate grants the application's,
and a statement tried under a role (with or without the logged bypass), rolled back either way."""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction

from audit.core.db_roles import apply_grants


def granted_like_the_app(role: str) -> str:
    """A NOLOGIN role (made if missing) holding what `apply_grants` gives the application's role."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            cur.execute(f"CREATE ROLE {role} NOLOGIN")
        apply_grants(cur, role)
    return role


def refused_as(sql: str, role: str | None = None, *, bypass: bool = False) -> str | None:
    """The error the statement met under `role` (None: the test's own user), or None when it went
    through; rolled back either way."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            if role:
                cur.execute(f"SET LOCAL ROLE {role}")
            cur.execute(f"SET LOCAL portal.audit_bypass = '{'on' if bypass else 'off'}'")
            cur.execute(sql)
            raise _WentThrough
    except _WentThrough:
        return None
    except DatabaseError as error:
        return str(error)


class _WentThrough(Exception):
    pass
