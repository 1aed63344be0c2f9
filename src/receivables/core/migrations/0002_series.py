from django.db import migrations

# Inlined, not imported: a migration must not change when application code does.
SERIES = {
    "customer": "CUS-",
    "invoice": "INV-",
    "debit_memo": "DBM-",
    "payment": "PAY-",
    "credit_note": "CRN-",
    "refund": "RFD-",
    "order": "ORD-",
}


def create_series(apps, schema_editor):
    sequence = apps.get_model("core", "Sequence")
    for series, prefix in SERIES.items():
        sequence.objects.get_or_create(series=series, defaults={"prefix": prefix})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_series, migrations.RunPython.noop)]
