"""Lawful bases per controller (issue 21, point 4; ADR 31).

Agreements and delivery releases held one flat list of codes for both Articles; they now hold each
controller's three fields. A list is rewritten as the Trust's bases (its first Article 6 code and
its first Article 9 condition; no statutory power was recorded): Pause's bases were never
recorded, so releases stay blocked until a new agreement version records them. A concern's one
Article 9 code becomes Pause's Article 9 condition ("sch1_p2_18" was paragraph 18, now
"art9_2_g"); its Article 6 basis was never recorded and stays empty ("Not recorded" on pages)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


ARTICLE_6 = ("art6_1_c", "art6_1_d", "art6_1_e", "art6_1_f")
ARTICLE_9 = ("art9_2_a", "art9_2_c", "art9_2_g", "art9_2_g_p6", "art9_2_h")
RENAMED = {"sch1_p2_18": "art9_2_g"}


def _from_list(codes):
    codes = [RENAMED.get(c, c) for c in codes or []]
    if not codes:
        return {}
    return {"trust": {"article_6": next((c for c in codes if c in ARTICLE_6), ""),
                      "article_9": next((c for c in codes if c in ARTICLE_9), ""), "power": ""}}


def forwards(apps, schema_editor):
    for name in ("Agreement", "DeliveryRelease"):
        model = apps.get_model("sharing", name)
        for row in model.objects.all().only("pk", "lawful_bases"):
            if isinstance(row.lawful_bases, list):
                model.objects.filter(pk=row.pk).update(lawful_bases=_from_list(row.lawful_bases))
    concern = apps.get_model("sharing", "SafeguardingConcern")
    for row in concern.objects.all().only("pk", "lawful_basis"):
        concern.objects.filter(pk=row.pk).update(lawful_bases={"pause": {
            "article_6": "", "article_9": RENAMED.get(row.lawful_basis, row.lawful_basis), "power": ""}})


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0012_data_items_address_and_postcode_apart'),
    ]

    operations = [
        migrations.AddField(
            model_name='agreement',
            name='decide_changes_within_days',
            field=models.PositiveSmallIntegerField(default=14),
        ),
        migrations.AddField(
            model_name='phasechange',
            name='lawful_bases',
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name='safeguardingconcern',
            name='lawful_bases',
            field=models.JSONField(default=dict),
        ),
        migrations.AlterField(
            model_name='agreement',
            name='lawful_bases',
            field=models.JSONField(default=dict),
        ),
        migrations.AlterField(
            model_name='deliveryrelease',
            name='lawful_bases',
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='safeguardingconcern',
            name='lawful_basis',
        ),
        migrations.CreateModel(
            name='StatutoryPower',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(max_length=300)),
                ('justification', models.TextField()),
                ('status', models.CharField(choices=[('proposed', 'Awaiting confirmation'), ('confirmed', 'Confirmed'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn')], default='proposed', max_length=10)),
                ('proposed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_reason', models.TextField(blank=True)),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('programme', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='statutory_powers', to='sharing.programme')),
                ('proposed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['programme', 'pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('proposed_by')), _negated=True), _connector='OR'), name='statutory_power_decided_by_another')],
            },
        ),
    ]
