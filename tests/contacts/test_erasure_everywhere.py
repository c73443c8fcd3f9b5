"""Erasure and retention reach the messages (UU 27/2022): blasts' outbox and the inbox's raw parts.

These use the hooks the blasts and inbox apps really register, not stand-ins.
"""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection

from tests.inbox.conftest import mo
from warta.blasts.models import OutboundMessage
from warta.contacts import services
from warta.gateway.models import InboundMessage
from warta.inbox.models import InboundPart, Message
from warta.inbox.services import receive_mo

from .conftest import create_contact

pytestmark = pytest.mark.django_db

E164 = "+6281377712345"
SECRET_TEXT = "Rumah saya di Jl. Melati 7 kebanjiran"


def rows_mentioning(needle: str) -> list[tuple[str, str]]:
    """Every (table, column) of the message tables whose text holds ``needle``."""
    hits = []
    tables = {
        OutboundMessage._meta.db_table: ["to", "text"],
        InboundPart._meta.db_table: ["source", "text"],
        Message._meta.db_table: ["text"],
        InboundMessage._meta.db_table: ["source", "text"],
    }
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            for column in columns:
                cursor.execute(f'SELECT COUNT(*) FROM {table} WHERE "{column}" LIKE %s', [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append((table, column))
    return hits


def test_erasure_removes_the_number_and_texts_from_outbox_and_raw_parts() -> None:
    create_contact(e164=E164)
    # The SMSC writes the source as 62… (international TON, no plus), as real ones do.
    assert receive_mo(mo(SECRET_TEXT, source=E164[1:])) == "stored"
    InboundMessage.objects.create(source=E164[1:], destination="02132881818", text=SECRET_TEXT,
                                  received_at=InboundPart.objects.get().received_at)
    assert OutboundMessage.objects.filter(to=E164).exists()  # the acknowledgement
    assert rows_mentioning(E164[3:])

    services.erase(E164)

    assert rows_mentioning(E164[3:]) == []  # neither +62…, 62… nor 0…
    assert rows_mentioning("Melati") == []
    assert OutboundMessage.objects.count() == 1  # rows stay, so the counts stay right
    assert InboundPart.objects.get().source.startswith("~")


def test_an_access_export_lists_the_messages_sent_to_the_number() -> None:
    import json

    create_contact(e164=E164)
    receive_mo(mo(SECRET_TEXT, source=E164))
    data = json.loads(services.subject_export_json(E164))
    assert [m["state"] for m in data["messages_sent"]] == ["queued"]
    assert SECRET_TEXT in [m["text"] for m in data["inbox_messages"]]


def test_retention_anonymises_old_inbound_texts_through_the_inbox(settings) -> None:
    settings.WARTA_RETENTION_DAYS = 30
    with time_machine.travel("2026-01-01 09:00 +0700", tick=False):
        receive_mo(mo(SECRET_TEXT, source="6281377700001"))
    with time_machine.travel("2026-01-25 09:00 +0700", tick=False):
        receive_mo(mo("Pesan baru yang masih disimpan", source="6281377700002"))
    with time_machine.travel("2026-02-05 09:00 +0700", tick=False):
        dry = services.retention(dry_run=True)
        assert rows_mentioning("Melati")  # a dry run changes nothing
        result = services.retention()
    assert dry["other_apps"] == result["other_apps"] > 0
    assert rows_mentioning("Melati") == []
    assert rows_mentioning("masih disimpan")  # younger than the cutoff: kept
    old = Message.objects.filter(direction="in").order_by("at").first()
    assert old is not None and old.text == "[dihapus]"
