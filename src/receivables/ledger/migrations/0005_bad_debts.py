from django.db import migrations


def add_bad_debts(apps, schema_editor):
    account = apps.get_model("ledger", "Account")
    account.objects.get_or_create(code="6100", defaults={"name": "Bad debts", "kind": "expense"})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_entries_balance_at_commit")]
    operations = [migrations.RunPython(add_bad_debts, migrations.RunPython.noop)]
