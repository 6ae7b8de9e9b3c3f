"""Re-check every live scoping snapshot under the issue 16 check, so that a deployment does it.

It runs the application's own code (`sharing.scoping_recheck`), not historical models: the check,
its hierarchies and the audit trail's writer are code, not schema. On a database without any
scoping row (every new database, the test database) it does nothing, so later schema changes
cannot break it there; on a database with rows it runs at this migration's schema.
"""

from django.db import migrations


def recheck(apps, schema_editor):
    if not apps.get_model("sharing", "ScopingWomanRow").objects.exists():
        return
    from sharing.scoping_recheck import recheck_live_snapshots

    recheck_live_snapshots()


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0006_scoping_disclosure_check"),
        ("audit", "0008_review_search_request"),
    ]

    operations = [migrations.RunPython(recheck, migrations.RunPython.noop)]
