# The no-receipt sweep's partial index gains "sent_at IS NOT NULL" so that the receipt UPDATE's
# "state = 'submitted'" no longer lets the planner read every waiting message through it (see
# OutboundMessage.Meta). On PostgreSQL the new index is built CONCURRENTLY under a temporary name
# and takes the old one's place: the engines keep writing while it is built.

from django.db import migrations, models

_STATES = ["submitted", "unknown"]
OLD = models.Index(fields=["sent_at"], name="outbox_awaiting_receipt", condition=models.Q(state__in=_STATES))
NEW = models.Index(fields=["sent_at"], name="outbox_awaiting_receipt",
                   condition=models.Q(state__in=_STATES, sent_at__isnull=False))


def _swap(apps, schema_editor, old: models.Index, new: models.Index) -> None:
    model = apps.get_model("blasts", "OutboundMessage")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, old)
        schema_editor.add_index(model, new)
        return
    temp = models.Index(fields=new.fields, name=f"{new.name}_new", condition=new.condition)
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{temp.name}"')  # a build that failed before
    schema_editor.execute(temp.create_sql(model, schema_editor, concurrently=True))
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{old.name}"')
    schema_editor.execute(f'ALTER INDEX "{temp.name}" RENAME TO "{new.name}"')


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, OLD, NEW)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, NEW, OLD)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("blasts", "0014_part_lookup_by_smsc_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.RemoveIndex(model_name="outboundmessage", name="outbox_awaiting_receipt"),
                migrations.AddIndex(model_name="outboundmessage", index=NEW),
            ],
        ),
    ]
