"""The audit trail refuses DELETE and TRUNCATE too, and its rows become a hash chain.

Existing rows are chained in id order (the UPDATE trigger is lifted for that, inside this
migration's transaction, and put back with the new DELETE/TRUNCATE triggers). SQLite rebuilds the
table to add the columns, which drops its triggers; ``install_triggers`` puts them back, and does
so again after every later migration (``post_migrate`` in apps.py).
"""

import django.utils.timezone
from django.db import migrations, models


def chain_existing_rows(apps, schema_editor):
    from warta.accounts import auditchain, auditdb

    connection = schema_editor.connection
    auditdb.drop_triggers(connection)
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    prev = auditchain.GENESIS
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        digest = auditchain.row_hash(prev, event)
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=digest)
        prev = digest
    auditdb.install_triggers(connection)


def backwards(apps, schema_editor):
    from warta.accounts import auditdb

    auditdb.drop_triggers(schema_editor.connection)
    # Back to migration 0002's state: UPDATE refused, DELETE allowed.
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(auditdb.POSTGRES_FUNCTION)
            cursor.execute(auditdb.POSTGRES_TRIGGERS["audit_append_only"])
        else:
            cursor.execute(auditdb.SQLITE_TRIGGERS["audit_no_update"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_audit_append_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False, verbose_name='waktu'),
        ),
        migrations.RunPython(chain_existing_rows, backwards),
    ]
