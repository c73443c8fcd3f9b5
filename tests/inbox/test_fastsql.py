"""``warta.lib.fastsql``: ingest's plain-SQL writes read back exactly as Django's own would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from warta.inbox.models import (
    Conversation,
    Direction,
    Disposition,
    InboundPart,
    Message,
    SenderKind,
)
from warta.lib import fastsql

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 2, 3, 4, 567, tzinfo=dt.UTC)
WIB = dt.timezone(dt.timedelta(hours=7))


def test_inserted_rows_read_back_as_the_orm_wrote_them():
    fields = ("connection", "dedup_key", "source", "destination", "data_coding", "payload", "text", "concat_ref",
              "concat_total", "concat_seq", "concat_bits", "smsc_message_id", "metadata", "received_at",
              "assembled", "message")
    fastsql.insert_rows(InboundPart, fields, [
        ("sim", "k1", "+62812", "021", 8, b"\x00\x41'\\\n\x00", "a'b\\c\n\t\u00e9\U0001f600", 300, 2, 1, 16, "",
         {"esm_class": 64, "nested": {"x": [1, "y'"]}}, AT, False, None),
        ("sim", "k2", "+62812", "021", 0, None, "", None, None, None, None, "id-1", {}, AT.astimezone(WIB), True, None),
    ])
    one, two = InboundPart.objects.order_by("dedup_key")
    assert bytes(one.payload) == b"\x00\x41'\\\n\x00" and one.text == "a'b\\c\n\t\u00e9\U0001f600"
    assert one.metadata == {"esm_class": 64, "nested": {"x": [1, "y'"]}} and one.concat_ref == 300
    assert one.received_at == AT and two.received_at == AT  # a non-UTC offset is the same instant
    assert two.payload is None and two.concat_ref is None and two.assembled and two.smsc_message_id == "id-1"
    # Django's own lookups compare the stored datetimes correctly (SQLite stores text).
    assert InboundPart.objects.filter(received_at=AT).count() == 2
    assert InboundPart.objects.filter(received_at__lt=AT + dt.timedelta(microseconds=1)).count() == 2


def test_returning_gives_ids_in_row_order_and_update_rows_updates_by_id():
    conv_fields = ("address", "kind", "created_at", "last_message_at", "window_start", "window_count",
                   "autoreply_day", "autoreply_count")
    rows = [(f"+6281{i:08d}", SenderKind.MOBILE, AT, AT, None, 0, None, 0) for i in range(300)]
    ids = fastsql.insert_rows(Conversation, conv_fields, rows, returning=True)
    assert [Conversation.objects.get(pk=pk).address for pk in ids] == [r[0] for r in rows]
    pairs = fastsql.insert_rows(Conversation, conv_fields, [rows[0], ("+6289", "alnum", AT, AT, None, 0, None, 0)],
                                returning=("address", "id"), on_conflict_nothing=True)
    assert [a for a, _ in pairs] == ["+6289"]  # the existing address is skipped, not an error

    day = dt.date(2026, 3, 2)
    fastsql.update_rows(Conversation, ("window_count", "autoreply_day", "last_message_at"),
                        [(7, day, AT + dt.timedelta(hours=1), ids[0]), (9, None, AT, ids[1])])
    a, b = Conversation.objects.get(pk=ids[0]), Conversation.objects.get(pk=ids[1])
    assert (a.window_count, a.autoreply_day, a.last_message_at) == (7, day, AT + dt.timedelta(hours=1))
    assert (b.window_count, b.autoreply_day) == (9, None)
    assert Conversation.objects.get(pk=ids[2]).window_count == 0
    assert Conversation.objects.filter(autoreply_day=day).count() == 1


def test_choices_json_lists_and_ids_from_the_sequence():
    conv = Conversation.objects.create(address="+62811", kind="mobile", created_at=AT, last_message_at=AT)
    fields = ("conversation", "ticket", "direction", "disposition", "text", "at", "connection", "destination",
              "data_coding", "is_binary", "parts_total", "parts_missing", "keyword", "author", "outbox_id")
    ids = fastsql.insert_rows(Message, fields, [
        (conv.pk, None, Direction.IN, Disposition.FLOOD, "x", AT, "sim", "021", 0, False, 3, [2, 3], "", None, None),
        (conv.pk, None, Direction.OUT, Disposition.ACK, "y", AT, "", "+62811", None, False, 1, [], "", None, 42),
    ], returning=True)
    m1, m2 = Message.objects.get(pk=ids[0]), Message.objects.get(pk=ids[1])
    assert (m1.direction, m1.disposition, m1.parts_missing, m1.is_incomplete) == ("in", "flood", [2, 3], True)
    assert (m2.direction, m2.disposition, m2.outbox_id, m2.data_coding) == ("out", "ack", 42, None)
    later = Message.objects.create(conversation=conv, direction="in", disposition="ticket", at=AT)
    assert later.pk > max(ids)  # ids drawn by fastsql do not collide with the ORM's


def test_a_duplicate_key_raises_integrity_error_like_the_orm():
    fields = ("connection", "dedup_key", "source", "destination", "data_coding", "text", "smsc_message_id",
              "metadata", "received_at", "assembled")
    row = ("sim", "same", "+62812", "021", 0, "", "", {}, AT, True)
    fastsql.insert_rows(InboundPart, fields, [row])
    with pytest.raises(IntegrityError), transaction.atomic():
        fastsql.insert_rows(InboundPart, fields, [row])
    assert InboundPart.objects.count() == 1


def test_in_list_is_one_parameter_and_uses_the_values():
    fastsql.insert_rows(Conversation, ("address", "kind", "created_at", "last_message_at", "window_count",
                                       "autoreply_count"),
                        [(f"+62{i}", "mobile", AT, AT, 0, 0) for i in range(5)])
    where, params = fastsql.in_list("address", ["+620", "+623", "+629", "o'hara"])
    assert len(params) == 1
    with connection.cursor() as cur:
        cur.execute(f"SELECT address FROM inbox_conversation WHERE {where} ORDER BY address", params)  # noqa: S608
        assert [a for (a,) in cur.fetchall()] == ["+620", "+623"]


def test_a_part_stored_by_another_engine_meanwhile_is_a_duplicate_after_the_retry(monkeypatch):
    from tests.inbox.conftest import mo
    from warta.inbox import ingest
    from warta.inbox.services import receive_mo

    assert receive_mo(mo("Banjir di Kemang", smsc_message_id="abc")) == "stored"
    real = ingest._seen_keys
    calls = []

    def blind_once(keys_by_conn):  # the other engine committed after our dedup check
        calls.append(1)
        return set() if len(calls) == 1 else real(keys_by_conn)

    monkeypatch.setattr(ingest, "_seen_keys", blind_once)
    assert receive_mo(mo("Banjir di Kemang", smsc_message_id="abc")) == "duplicate"
    assert len(calls) == 2 and InboundPart.objects.count() == 1
    assert Message.objects.filter(direction="in").count() == 1


def test_a_conversation_created_by_another_engine_meanwhile_is_used_after_the_retry(monkeypatch):
    from tests.inbox.conftest import CITIZEN, mo
    from warta.inbox import ingest
    from warta.inbox.services import receive_mo

    Conversation.objects.create(address=CITIZEN, kind="mobile", created_at=AT, last_message_at=AT,
                                window_start=AT, window_count=3)
    real = ingest._where_in
    calls = []

    def blind_once(model, column, values, db_type="text"):
        if model is Conversation:
            calls.append(1)
            if len(calls) == 1:
                table, _where, _params = real(model, column, values, db_type)
                return table, "1 = 0", []
        return real(model, column, values, db_type)

    monkeypatch.setattr(ingest, "_where_in", blind_once)
    assert receive_mo(mo("Sampah menumpuk")) == "stored"
    conv = Conversation.objects.get()
    assert len(calls) == 2 and conv.messages.filter(direction="in").count() == 1
    assert conv.created_at == AT and conv.autoreply_count == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite fallbacks")
def test_sqlite_without_returning_and_with_the_old_variable_limit(monkeypatch):
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    fields = ("address", "kind", "created_at", "last_message_at", "window_count", "autoreply_count")
    Conversation.objects.create(address="+62first", kind="mobile", created_at=AT, last_message_at=AT)
    ids = fastsql.insert_rows(Conversation, fields, [(f"+62{i}", "mobile", AT, AT, 0, 0) for i in range(50)],
                              returning=True)
    assert [Conversation.objects.get(pk=pk).address for pk in ids] == [f"+62{i}" for i in range(50)]
    monkeypatch.undo()
    monkeypatch.setattr(fastsql, "_sqlite_max_params", lambda: 999)
    ids = fastsql.insert_rows(Conversation, fields, [(f"+63{i}", "mobile", AT, AT, 0, 0) for i in range(500)],
                              returning=True)
    assert [Conversation.objects.get(pk=pk).address for pk in ids] == [f"+63{i}" for i in range(500)]
