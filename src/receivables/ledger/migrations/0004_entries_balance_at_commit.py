from django.db import migrations

# PostgreSQL checks at commit that every journal entry a transaction touched balances in its
# currency and has at least two postings, as django-hordak does: a deferred constraint trigger,
# so the entry and its postings may be written in any order inside the transaction.
CREATE = """
CREATE OR REPLACE FUNCTION ledger_check_entry(entry bigint) RETURNS void AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_journalentry WHERE id = entry) THEN
        RETURN;  -- the entry itself was deleted with its postings
    END IF;
    IF EXISTS (
        SELECT 1 FROM ledger_posting WHERE entry_id = entry GROUP BY currency
        HAVING sum(debit_minor) <> sum(credit_minor)
    ) THEN
        RAISE EXCEPTION 'journal entry % does not balance', entry USING ERRCODE = 'check_violation';
    END IF;
    IF (SELECT count(*) FROM ledger_posting WHERE entry_id = entry) < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two postings', entry USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION ledger_entry_balances() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION ledger_posting_balances() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ledger_check_entry(OLD.entry_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ledger_check_entry(NEW.entry_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ledger_entry_balances_on_entry
    AFTER INSERT ON ledger_journalentry DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
CREATE CONSTRAINT TRIGGER ledger_entry_balances_on_posting
    AFTER INSERT OR UPDATE OR DELETE ON ledger_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balances();
"""
DROP = """
DROP TRIGGER IF EXISTS ledger_entry_balances_on_entry ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_balances_on_posting ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_entry_balances();
DROP FUNCTION IF EXISTS ledger_posting_balances();
DROP FUNCTION IF EXISTS ledger_check_entry(bigint);
"""


def _run(schema_editor, sql):
    # No parameters: the "%" in the messages are PL/pgSQL's, not placeholders.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, CREATE)


def backwards(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_posting_account_totals")]
    operations = [migrations.RunPython(forwards, backwards)]
