"""Rewrite the problems stored with earlier extracts so that none quotes a value the quoting rule
(`eligibility.extract.quoting`, ADR 7) would not: an NHS number typed into the ethnicity column
was quoted in the problem, stored in clear and put into the report.

It runs the application's own code (`eligibility.stored_problems`), as sharing 0007 does: the
rule and the audit trail's writer are code, not schema. On a database with no extract (every new
database, the test database) it does nothing.
"""

from django.db import migrations


def rewrite(apps, schema_editor):
    if not apps.get_model("eligibility", "Extract").objects.exists():
        return
    from eligibility.stored_problems import rewrite_stored_problems

    rewrite_stored_problems()


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0007_recompute_job"),
        ("audit", "0009_rights_oversight"),
    ]

    operations = [migrations.RunPython(rewrite, migrations.RunPython.noop)]
