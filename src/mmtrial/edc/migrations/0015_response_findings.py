# The IMWG findings as codes with values beside the English reasons (issue 12 item 2).
# Existing rows get {} and keep their English; re-derivation fills them in.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('edc', '0014_sae'),
    ]

    operations = [
        migrations.AddField(
            model_name='responseassessment',
            name='findings',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
