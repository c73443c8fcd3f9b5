"""Ticket.topic becomes a link to insights.Topic, Ticket.region a link to contacts.Region, and
tickets get an ``urgent`` flag (issue 14). Existing values are carried over: the old topic codes
map to the new ones (kependudukan → adminduk, sosial → bansos), free-text regions are matched
against the region tree (unknown text is kept in the ticket's history, not lost)."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


def carry_over(apps, schema_editor):  # type: ignore[no-untyped-def]
    from warta.contacts.regions import normalise_name
    from warta.insights.topics import LEGACY

    Ticket = apps.get_model("inbox", "Ticket")
    TicketEvent = apps.get_model("inbox", "TicketEvent")
    Topic = apps.get_model("insights", "Topic")
    Region = apps.get_model("contacts", "Region")
    topics = {t.code: t.pk for t in Topic.objects.all()}
    # The most specific unique name wins (as the contacts import's RegionMatcher): "Gambir" is a
    # kecamatan and a kelurahan; the kelurahan is the more useful answer. Codes match exactly.
    levels = ["kelurahan", "kecamatan", "kota_kabupaten", "provinsi"]
    by_level: dict[str, dict[str, list[int]]] = {lv: {} for lv in levels}
    codes: dict[str, int] = {}
    for pk, name, code, level in Region.objects.values_list("pk", "name", "code", "level"):
        by_level.setdefault(level, {}).setdefault(normalise_name(name), []).append(pk)
        codes[code] = pk

    def find(text: str) -> int | None:
        if text.strip() in codes:
            return codes[text.strip()]
        key = normalise_name(text)
        for level in levels:
            hits = by_level.get(level, {}).get(key)
            if hits and len(hits) == 1:
                return hits[0]
        return None

    from django.utils import timezone

    for t in Ticket.objects.all().iterator():
        changed = []
        if t.topic_old:
            t.topic_ref_id = topics.get(LEGACY.get(t.topic_old, t.topic_old)) or topics.get("lainnya")
            changed.append("topic_ref")
        if t.region_old:
            found = find(t.region_old)
            if found is not None:
                t.region_ref_id = found
                changed.append("region_ref")
            else:
                TicketEvent.objects.create(ticket=t, at=timezone.now(), kind="edited",
                                           text=f"Wilayah lama (teks): {t.region_old}", data={"region_text": t.region_old})
        if changed:
            t.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0002_keywords"),
        ("insights", "0002_insights_seed"),
        ("contacts", "0002_load_regions"),
    ]

    operations = [
        migrations.RenameField("ticket", "topic", "topic_old"),
        migrations.RenameField("ticket", "region", "region_old"),
        migrations.AddField("ticket", "topic_ref", models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="insights.topic",
            verbose_name="topik")),
        migrations.AddField("ticket", "region_ref", models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contacts.region",
            verbose_name="wilayah")),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.RemoveField("ticket", "topic_old"),
        migrations.RemoveField("ticket", "region_old"),
        migrations.RenameField("ticket", "topic_ref", "topic"),
        migrations.RenameField("ticket", "region_ref", "region"),
        migrations.AddField("ticket", "urgent", models.BooleanField(default=False, verbose_name="darurat")),
        migrations.AlterModelOptions("ticket", {"ordering": ["-urgent", "-last_message_at", "-id"],
                                                "verbose_name": "tiket", "verbose_name_plural": "tiket"}),
        migrations.AlterField("message", "disposition", models.CharField(choices=[
            ("ticket", "tiket"), ("keyword", "kata kunci"), ("flood", "banjir pesan"), ("blocked", "diblokir"),
            ("empty", "kosong"), ("poll", "jawaban jajak pendapat"), ("ack", "tanda terima"),
            ("keyword_reply", "balasan kata kunci"), ("reply", "balasan petugas")], max_length=14)),
        migrations.AddIndex("ticket", models.Index(condition=models.Q(("urgent", True)), fields=["status", "-last_message_at"],
                                                   name="ticket_inbox_urgent")),
    ]
