import django.db.models.functions.datetime
from django.db import migrations, models


def date_existing(apps, schema_editor):
    """Allocations made before they carried a date took effect when they were made."""
    Allocation = apps.get_model("documents", "Allocation")
    Allocation.objects.update(date=django.db.models.functions.datetime.TruncDate("created_at"))


class Migration(migrations.Migration):
    dependencies = [("documents", "0005_document_customer_open")]

    operations = [
        migrations.AddField(model_name="allocation", name="date", field=models.DateField(null=True)),
        migrations.RunPython(date_existing, migrations.RunPython.noop),
        migrations.AlterField(model_name="allocation", name="date", field=models.DateField()),
    ]
