"""Suspected-breach reports and the women a breach affects (issue 23, point 4; ADR 49). Breaches
recorded before this get `aware_at` = `found_at`: the clock they ran on until now."""

import django.db.models.deletion
import django.utils.timezone
import pseudonymisation.fields
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0013_reminders'),
        ('sharing', '0018_caldicott_decision'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AffectedWoman',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('woman_reference', models.CharField(max_length=60)),
                ('told_on', models.DateField(blank=True, null=True)),
                ('exception', models.CharField(blank=True, choices=[('a', '(a) The data was unintelligible to anyone not authorised, for example encrypted'), ('b', '(b) Measures taken since mean the high risk is no longer likely'), ('c', '(c) Telling each would take disproportionate effort: a public communication instead')], max_length=1)),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['breach', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='SuspectedBreach',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('row_uid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('what_happened', pseudonymisation.fields.EncryptedField(null=True)),
                ('noticed_at', models.DateTimeField()),
                ('pause_side', models.BooleanField()),
                ('systems', models.CharField(choices=[('trust', "The Trust's systems or devices"), ('pause', "Pause's systems or devices"), ('both', 'Both'), ('portal', 'This portal'), ('unknown', 'Not known')], max_length=8)),
                ('reporter_role', models.CharField(choices=[('trust_caseworker', 'Trust caseworker'), ('trust_lead', 'Trust lead'), ('caldicott_guardian', 'Caldicott Guardian'), ('dpo', 'Data protection officer'), ('pause_lead', 'Pause lead'), ('pause_practitioner', 'Pause practitioner'), ('system_admin', 'System administrator')], max_length=30)),
                ('reported_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('status', models.CharField(choices=[('waiting', 'Waiting for the DPO'), ('breach', 'Recorded as a breach'), ('dismissed', 'Dismissed')], default='waiting', max_length=10)),
                ('dismissed_reason', models.TextField(blank=True)),
                ('triaged_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name_plural': 'suspected breaches',
                'ordering': ['-reported_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='breach',
            name='aware_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL("UPDATE audit_breach SET aware_at = found_at", migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='breach',
            name='aware_at',
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name='breach',
            name='aware_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='breach',
            name='flag_reference',
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name='breach',
            name='late_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='breach',
            name='pause_side',
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name='breach',
            constraint=models.CheckConstraint(condition=models.Q(('happened_at__isnull', True), ('happened_at__lte', models.F('aware_at')), _connector='OR'), name='breach_aware_after_it_happened'),
        ),
        migrations.AddConstraint(
            model_name='breach',
            constraint=models.UniqueConstraint(condition=models.Q(('flag_reference', ''), _negated=True), fields=('flag_reference',), name='breach_one_per_flag'),
        ),
        migrations.AddField(
            model_name='affectedwoman',
            name='added_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='affectedwoman',
            name='breach',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='affected_women', to='audit.breach'),
        ),
        migrations.AddField(
            model_name='affectedwoman',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='suspectedbreach',
            name='breach',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='report', to='audit.breach'),
        ),
        migrations.AddField(
            model_name='suspectedbreach',
            name='programme',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='sharing.programme'),
        ),
        migrations.AddField(
            model_name='suspectedbreach',
            name='reported_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='suspectedbreach',
            name='triaged_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='affectedwoman',
            constraint=models.UniqueConstraint(fields=('breach', 'woman_reference'), name='affected_woman_once_per_breach'),
        ),
        migrations.AddConstraint(
            model_name='affectedwoman',
            constraint=models.CheckConstraint(condition=models.Q(('told_on__isnull', True), ('exception', ''), _connector='OR'), name='affected_woman_told_or_exception'),
        ),
        migrations.AddConstraint(
            model_name='affectedwoman',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('exception', ''), ('told_on__isnull', True)), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), models.Q(('told_on__isnull', False), models.Q(('exception', ''), _negated=True), _connector='OR')), _connector='OR'), name='affected_woman_decided_who_when'),
        ),
        migrations.AddConstraint(
            model_name='suspectedbreach',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('breach__isnull', True), ('dismissed_reason', ''), ('status', 'waiting'), ('triaged_at__isnull', True), ('triaged_by__isnull', True)), models.Q(('breach__isnull', False), ('dismissed_reason', ''), ('status', 'breach'), ('triaged_at__isnull', False), ('triaged_by__isnull', False)), models.Q(('breach__isnull', True), ('status', 'dismissed'), ('triaged_at__isnull', False), ('triaged_by__isnull', False), models.Q(('dismissed_reason', ''), _negated=True)), _connector='OR'), name='suspected_breach_triaged_who_when_how'),
        ),
        migrations.AddConstraint(
            model_name='suspectedbreach',
            constraint=models.CheckConstraint(condition=models.Q(('noticed_at__lte', models.F('reported_at'))), name='suspected_breach_noticed_before_reported'),
        ),
    ]
