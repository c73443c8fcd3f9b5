# A stored receipt keeps its text: field (the message's first characters), so that of two messages
# to one handset from one sender both in doubt, match_orphans picks the one it quotes. A column with
# a constant default: PostgreSQL adds it without rewriting the table.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('blasts', '0015_awaiting_receipt_index_for_the_sweep_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='receipt',
            name='text',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
    ]
