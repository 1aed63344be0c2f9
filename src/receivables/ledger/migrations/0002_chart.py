from django.db import migrations

CHART = {
    "1100": ("Accounts receivable", "asset"),
    "1200": ("Card gateway clearing", "asset"),
    "2100": ("VAT payable", "liability"),
    "2200": ("Refunds payable", "liability"),
    "4000": ("Sales", "income"),
    "4100": ("Sales returns and allowances", "income"),
}


def create_chart(apps, schema_editor):
    account = apps.get_model("ledger", "Account")
    for code, (name, kind) in CHART.items():
        account.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create_chart, migrations.RunPython.noop)]
