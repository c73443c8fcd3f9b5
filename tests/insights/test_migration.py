"""The inbox migration that turns Ticket.topic/region into links carries today's values over."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_legacy_topic_and_region_values_are_carried_over():
    before = [("inbox", "0002_keywords"), ("insights", "0002_insights_seed")]
    after = [("inbox", "0003_insights_ticket_topic_region")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Conversation = apps.get_model("inbox", "Conversation")
    Ticket = apps.get_model("inbox", "Ticket")
    from django.utils import timezone

    now = timezone.now()
    rows = [("kependudukan", "Gambir"), ("sosial", "kelurahan gambir"), ("banjir", "Jl. Mawar no. 3"), ("", "")]
    for i, (topic, region) in enumerate(rows):
        conv = Conversation.objects.create(address=f"+62812000000{i}", kind="mobile", created_at=now,
                                           last_message_at=now)
        Ticket.objects.create(conversation=conv, topic=topic, region=region, created_at=now, updated_at=now,
                              last_message_at=now, verify_due_at=now)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    apps = executor.loader.project_state(after).apps
    Ticket = apps.get_model("inbox", "Ticket")
    TicketEvent = apps.get_model("inbox", "TicketEvent")
    got = [(t.topic.code if t.topic_id else None, t.region.name if t.region_id else None)
           for t in Ticket.objects.order_by("id").select_related("topic", "region")]
    assert got == [("adminduk", "Gambir"), ("bansos", "Gambir"), ("banjir", None), (None, None)]
    assert TicketEvent.objects.filter(data__region_text="Jl. Mawar no. 3").exists()  # not lost
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the next tests
