from django.db import migrations

# PostgreSQL refuses any UPDATE or DELETE of an audit row, whoever asks. (TRUNCATE, which
# only an owner of the table can run, is left to test tooling.)
CREATE = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_no_update_or_delete
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS core_auditentry_no_update_or_delete ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_append_only();
"""


def _run(schema_editor, sql):
    # No parameters: the "%" in the message is PL/pgSQL's, not a placeholder.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, CREATE)


def backwards(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_entry")]
    operations = [migrations.RunPython(forwards, backwards)]
