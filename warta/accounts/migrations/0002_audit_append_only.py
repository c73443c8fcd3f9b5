"""The database itself refuses UPDATE on the audit trail.

The model and its queryset already refuse updates and deletes; the trigger makes a shell session,
a script or a future bug unable to *rewrite* history too. DELETE is refused by the application
only: test databases are flushed between tests, and a retention purge of very old events may one
day be a documented, audited operation.
"""

from django.db import migrations

TABLE = "accounts_auditevent"

SQLITE_UP = [
    f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;",

]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_no_update;"]

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION warta_audit_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql;""",
    f"CREATE TRIGGER audit_append_only BEFORE UPDATE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION warta_audit_append_only();",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS audit_append_only ON {TABLE};",
    "DROP FUNCTION IF EXISTS warta_audit_append_only();",
]


def forwards(apps, schema_editor):
    statements = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    statements = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
