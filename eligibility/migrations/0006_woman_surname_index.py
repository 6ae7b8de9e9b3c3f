"""A blind index of the surname alone, for the decision queue's search by exact surname (issue 5).

Women already held get theirs here: each surname is decrypted with its programme's keys and
indexed under the current blind-index key, in batches. A database without women (every new one)
reads nothing else: the key classes are the application's own, used only when there is a surname
to index."""

from django.db import migrations

import pseudonymisation.fields

BATCH = 2000


def index_surnames(apps, schema_editor):
    Woman = apps.get_model("eligibility", "Woman")
    if not Woman.objects.filter(surname__isnull=False).exists():
        return
    from pseudonymisation.blind_index import IndexKind
    from pseudonymisation.encryption import binding
    from pseudonymisation.fields import Protector

    protectors = {}
    last = 0
    while True:
        rows = list(Woman.objects.filter(pk__gt=last, surname__isnull=False).order_by("pk")
                    .values_list("pk", "programme_id", "row_uid", "surname")[:BATCH])
        if not rows:
            return
        for pk, programme_id, row_uid, ciphertext in rows:
            protector = protectors.get(programme_id) or protectors.setdefault(
                programme_id, Protector.load(programme_id, "trust", create=False))
            surname = protector.cipher.decrypt(bytes(ciphertext), binding("eligibility.woman", "surname", str(row_uid)))
            try:
                index = protector.indexer.index(IndexKind.SURNAME, surname)
            except ValueError:  # no letter in it: nothing a search could find
                index = None
            Woman.objects.filter(pk=pk).update(surname_index=index)
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('eligibility', '0005_rules_evaluations_decisions'),
    ]

    operations = [
        migrations.AddField(
            model_name='woman',
            name='surname_index',
            field=pseudonymisation.fields.BlindIndexField(db_index=True, editable=False, kind='surname', max_length=48, null=True, source=['surname']),
        ),
        migrations.RunPython(index_surnames, migrations.RunPython.noop, elidable=True),
    ]
