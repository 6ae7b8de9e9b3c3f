"""Issue 17, finding 7: the append-only trigger honours the bypass only for the table's owner, and
covers the erasure records too; and finding 8's working table of refusals without sign-in.

- `portal_audit_append_only()` (migration 0003) let any role past that set
  `portal.audit_bypass` — a setting every role may set, the application's included. Now the
  bypass counts only when the role running the statement (`current_user`) owns the table: the
  owner role that runs migrations, the logged retention purge and the test suite's flush. Anyone
  else is refused with or without it. Every name in the function is schema-qualified and its
  search_path fixed, so no role can put a look-alike in its way.
- `audit_erasurerecord` gets the two triggers the other append-only tables have (entries,
  subjects, seals, anchors: 0003-0004; review searches: 0006). `audit.core.db_roles` revokes the
  application role's UPDATE, DELETE and TRUNCATE on all six after every migrate.
- `RefusalTally`: a working table (no trigger), `audit.core.refusals`.
"""

from django.db import migrations, models

TRIGGERED = ("audit_erasurerecord",)

FUNCTION = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(pg_catalog.current_setting('portal.audit_bypass', true), '') = 'on'
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = TG_RELID AND r.rolname = current_user) THEN
        IF TG_LEVEL = 'ROW' AND TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$;
"""

# Migration 0003's function, for going back.
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('portal.audit_bypass', true), '') = 'on' THEN
        IF TG_LEVEL = 'ROW' AND TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER FUNCTION portal_audit_append_only() RESET ALL")
    schema_editor.execute(FUNCTION)
    for table in TRIGGERED:
        schema_editor.execute(f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()")
        schema_editor.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only()")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TRIGGERED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    schema_editor.execute("ALTER FUNCTION portal_audit_append_only() RESET ALL")
    schema_editor.execute(PREVIOUS_FUNCTION)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0009_rights_oversight"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.CreateModel(
            name="RefusalTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("address", models.GenericIPAddressField()),
                ("minute", models.BigIntegerField()),
                ("count", models.PositiveIntegerField(default=0)),
                ("logged", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("address", "minute"), name="refusal_tally_address_minute"),
                    models.CheckConstraint(condition=models.Q(("logged__lte", models.F("count"))),
                                           name="refusal_tally_logged_le_count"),
                ],
            },
        ),
    ]
