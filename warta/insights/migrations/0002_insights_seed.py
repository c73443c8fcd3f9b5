"""Seed the 16 topics of issue 14 and the lexicon (analysts edit both afterwards)."""

from __future__ import annotations

from django.db import migrations


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    from warta.insights.classifier import read_lexicon_file
    from warta.insights.topics import seed

    seed(apps, schema_editor)
    Topic = apps.get_model("insights", "Topic")
    LexiconEntry = apps.get_model("insights", "LexiconEntry")
    topics = {t.code: t for t in Topic.objects.all()}
    existing = set(LexiconEntry.objects.values_list("kind", "term", "topic__code"))
    LexiconEntry.objects.bulk_create([
        LexiconEntry(kind=kind, term=term, topic=topics.get(topic) if topic else None, weight=weight)
        for kind, topic, term, weight, _r in read_lexicon_file()
        if (kind, term, topic or None) not in existing and (not topic or topic in topics)
    ], ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
