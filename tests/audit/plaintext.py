"""Everything stored in the audit tables, as one string, for plaintext searches."""

from django.db import connection


def audit_text() -> str:
    parts = []
    with connection.cursor() as cur:
        for table in ("audit_auditentry", "audit_auditsubject"):
            cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            for row in cur.fetchall():
                parts.append(" ".join("" if v is None else str(v) for v in row))
    return "\n".join(parts)
