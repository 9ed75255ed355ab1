from django.db import migrations

from mmtrial.edc import audit_triggers


def install(apps, schema_editor):
    audit_triggers.install(schema_editor.connection)


def drop(apps, schema_editor):
    audit_triggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("edc", "0001_initial")]
    operations = [migrations.RunPython(install, drop)]
