"""One identity per email address (issue 17, finding 3; ADR 21): every stored address lower-case,
then a constraint that keeps it so.

Existing addresses are lower-cased first. The migration refuses, changing nothing, when two
people's addresses differ only in letter case (they would become one identity: someone must
decide which account stays, and deactivate the other under a different address first), or when
an address is not plain ASCII (lower-casing must mean the same in Python and in the database).
It names people by reference only.
"""

import django.db.models.functions.text
from django.db import migrations, models


class AddressesNeedAttention(Exception):
    pass


def lower_case_addresses(apps, schema_editor):
    Person = apps.get_model("sharing", "Person")
    rows = list(Person.objects.order_by("pk").values_list("pk", "email"))
    non_ascii = [pk for pk, email in rows if not email.isascii()]
    if non_ascii:
        raise AddressesNeedAttention(
            "These people's email addresses are not plain ASCII; change them before migrating: "
            + ", ".join(f"person #{pk}" for pk in non_ascii)
        )
    by_identity: dict[str, list[int]] = {}
    for pk, email in rows:
        by_identity.setdefault(email.strip().lower(), []).append(pk)
    collisions = [pks for pks in by_identity.values() if len(pks) > 1]
    if collisions:
        raise AddressesNeedAttention(
            "These accounts' email addresses differ only in letter case and would become one identity; "
            "give all but one a different address before migrating: "
            + "; ".join(" and ".join(f"person #{pk}" for pk in pks) for pks in collisions)
        )
    for pk, email in rows:
        normalised = email.strip().lower()
        if normalised != email:
            Person.objects.filter(pk=pk).update(email=normalised)


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0007_recheck_live_snapshots"),
    ]

    operations = [
        migrations.RunPython(lower_case_addresses, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.CheckConstraint(
                condition=models.Q(("email", django.db.models.functions.text.Lower("email"))),
                name="person_email_lower_case",
            ),
        ),
    ]
