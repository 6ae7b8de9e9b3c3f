"""Re-wrap every live data key made before ADR 22 (under its master secret alone) under the master
secret and its scope's secret in the key store, each checked to unwrap to the same key, and
record it per scope (KeyCustodyRecord). Needs the master secrets and a writable key store
(PORTAL_KEY_STORE_DIR) when there are such keys; with none it touches neither.

Copies of the old wrapped bytes stay in dead row versions, the WAL and backups, and unwrap with
the master secret until it is rotated (manage.py rotate_master_secrets; docs/deployment.md)."""

from django.db import migrations


def rewrap(apps, schema_editor):
    DataKey = apps.get_model("pseudonymisation", "DataKey")
    if not DataKey.objects.filter(wrapping=1, destroyed_at__isnull=True).exists():
        return
    from pseudonymisation.keys import rewrap_legacy_keys

    rewrap_legacy_keys(data_key_model=DataKey,
                       record_model=apps.get_model("pseudonymisation", "KeyCustodyRecord"))


class Migration(migrations.Migration):

    dependencies = [
        ('pseudonymisation', '0002_key_store_wrapping'),
    ]

    operations = [
        # Irreversible: code before ADR 22 would read the new wrapping as the old one.
        migrations.RunPython(rewrap),
    ]
