from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sharing", "0004_delivery"),
    ]

    operations = [
        migrations.AddField(
            model_name="phasechange",
            name="no_final_report_kept",
            field=models.BooleanField(default=False),
        ),
    ]
