"""Ingest: what arrives is stored once, reassembled, ticketed and acknowledged by rule."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from tests.inbox.conftest import CITIZEN, mo, outbox, text_of
from warta.inbox import ingest
from warta.inbox.models import Conversation, Disposition, InboundPart, Message, SenderKind, Ticket
from warta.inbox.services import MO, receive_mo, receive_mo_batch
from warta.sms.segments import concat_udh

pytestmark = pytest.mark.django_db


def parts_of(text: str, ref: int = 7, ucs2: bool = False, ref16: bool = False, per: int | None = None) -> list[MO]:
    """The MO parts a handset would send for ``text`` (raw UDH + body)."""
    body = text.encode("utf-16-be") if ucs2 else text.encode("ascii")
    size = per or (134 if ucs2 else 153)
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    return [mo(concat_udh(ref, len(chunks), n, ref16=ref16) + chunk, udhi=True, data_coding=8 if ucs2 else 0)
            for n, chunk in enumerate(chunks, start=1)]


def test_it_stores_a_message_opens_a_ticket_and_acknowledges_with_the_ticket_number():
    assert receive_mo(mo("Lampu jalan mati di Cempaka Putih")) == "stored"
    ticket = Ticket.objects.get()
    assert ticket.status == "menunggu" and ticket.subject == "Lampu jalan mati di Cempaka Putih"
    [ack] = outbox(CITIZEN)
    assert f"tiket {ticket.number}" in text_of(ack) and f"STATUS {ticket.number}" in text_of(ack)
    assert ack.blast.sender.name == "02132881818"  # the long-number route
    assert Message.objects.filter(direction="out", disposition="ack", ticket=ticket, outbox_id=ack.pk).exists()


def test_it_keeps_the_raw_pdu_and_metadata():
    receive_mo(mo("Halo", source_ton=1, metadata={"esm_class": 0, "sequence_number": 42}))
    part = InboundPart.objects.get()
    assert bytes(part.payload) == b"Halo"
    assert part.metadata["sequence_number"] == 42 and part.metadata["source_addr_ton"] == 1
    assert part.message is not None and part.assembled


def _pdu(seq: int) -> dict[str, object]:
    return {"metadata": {"transport": "smpp", "sequence_number": seq}}


def test_the_same_deliver_sm_redelivered_is_stored_once():
    first = receive_mo(mo("Banjir di Kampung Melayu", **_pdu(17)))
    again = receive_mo(mo("Banjir di Kampung Melayu", **_pdu(17)))
    assert (first, again) == ("stored", "duplicate")
    assert InboundPart.objects.count() == 1 and Message.objects.filter(direction="in").count() == 1
    assert len(outbox(CITIZEN)) == 1


def test_a_citizen_who_sends_the_same_text_twice_is_heard_twice():
    """#10 item 8: two deliver_sm (two sequence numbers) with the same words are two messages."""
    assert receive_mo(mo("Banjir di Kampung Melayu", **_pdu(17))) == "stored"
    assert receive_mo(mo("Banjir di Kampung Melayu", **_pdu(18))) == "stored"
    assert Message.objects.filter(direction="in").count() == 2
    # Without any identity (a transport that gives neither id nor sequence) both are kept too.
    assert receive_mo_batch([mo("Sampah belum diangkut"), mo("Sampah belum diangkut")]) == ["stored", "stored"]
    assert Message.objects.filter(direction="in").count() == 4


def test_a_redelivery_across_a_dedup_bucket_boundary_is_still_caught(settings):
    settings.WARTA = {**settings.WARTA, "INBOX_DEDUP_WINDOW": 60}
    t0 = dt.datetime(2026, 3, 2, 3, 0, 59, tzinfo=dt.UTC)
    receive_mo(mo("Pohon tumbang", received_at=t0, **_pdu(5)), now=t0)
    later = t0 + dt.timedelta(seconds=2)  # next bucket
    assert receive_mo(mo("Pohon tumbang", received_at=later, **_pdu(5)), now=later) == "duplicate"


def test_an_smsc_message_id_makes_the_key():
    assert receive_mo(mo("A", smsc_message_id="abc")) == "stored"
    assert receive_mo(mo("A different text", smsc_message_id="abc")) == "duplicate"
    assert receive_mo(mo("A", smsc_message_id="abc", connection="other")) == "stored"


def test_gammus_inbox_row_id_is_the_identity():
    from types import SimpleNamespace

    from warta.inbox.services import from_smpp

    def row(gammu_id: int) -> object:
        return SimpleNamespace(source_addr=CITIZEN, destination_addr="02132881818", text="Jalan berlubang",
                               concat=None, gammu_id=gammu_id, data_coding=0)

    assert receive_mo_batch([from_smpp(row(1), "modem"), from_smpp(row(1), "modem"),
                             from_smpp(row(2), "modem")]) == ["stored", "duplicate", "stored"]


def test_duplicates_inside_one_batch_are_stored_once():
    assert receive_mo_batch([mo("Sama", **_pdu(3)), mo("Sama", **_pdu(3))]) == ["stored", "duplicate"]


def test_concatenated_parts_out_of_order_with_8_bit_reference_become_one_message():
    text = "Saluran air tersumbat " * 20  # 440 chars, 3 parts
    parts = parts_of(text, ref=200)
    random.Random(1).shuffle(parts)
    assert receive_mo_batch(parts[:1]) == ["part"]
    assert not Message.objects.exists()
    receive_mo_batch(parts[1:])
    [msg] = Message.objects.filter(direction="in")
    assert msg.text == text and msg.parts_total == 3 and msg.parts_missing == []
    assert InboundPart.objects.filter(message=msg).count() == 3
    assert len(outbox(CITIZEN)) == 1


def test_16_bit_references_and_ucs2_with_an_emoji_split_across_parts():
    text = "Tolong 🙏 " * 20 + "🌊"
    body = text.encode("utf-16-be")
    # Cut inside the surrogate pair of an emoji on purpose.
    cut = body.index("🙏".encode("utf-16-be")) + 2
    chunks = [body[:cut], body[cut:]]
    parts = [mo(concat_udh(0xBEEF, 2, n, ref16=True) + c, udhi=True, data_coding=8) for n, c in enumerate(chunks, 1)]
    receive_mo_batch(list(reversed(parts)))
    [msg] = Message.objects.filter(direction="in")
    assert msg.text == text


def test_a_missing_part_is_shown_after_the_time_out(settings):
    settings.WARTA = {**settings.WARTA, "INBOX_REASSEMBLY_TIMEOUT": 60}
    parts = parts_of("x" * 400, ref=9)  # 3 parts
    t0 = timezone.now()
    receive_mo_batch([parts[0], parts[2]], now=t0)
    assert ingest.flush_incomplete(t0 + dt.timedelta(seconds=30)) == 0
    assert ingest.flush_incomplete(t0 + dt.timedelta(seconds=61)) == 1
    [msg] = Message.objects.filter(direction="in")
    assert msg.parts_missing == [2] and "bagian 2 dari 3 tidak diterima" in msg.text
    assert msg.ticket is not None


def test_a_2000_character_concatenation_is_kept_whole():
    text = ("Warga RT 05 melaporkan genangan setinggi lutut. " * 50)[:2000]
    receive_mo_batch(parts_of(text, ref=3))
    [msg] = Message.objects.filter(direction="in")
    assert len(msg.text) == 2000 and msg.parts_total == 14


def test_binary_data_coding_is_stored_as_hex_and_not_ticketed_as_a_keyword():
    receive_mo(mo(b"\x00\x01STOP\xff", data_coding=4))
    msg = Message.objects.get(direction="in")
    assert msg.is_binary and msg.text.startswith("[data biner, 7 oktet]")
    assert msg.disposition == Disposition.TICKET


def test_an_empty_message_is_stored_without_ticket_or_reply():
    receive_mo(mo(b""))
    msg = Message.objects.get()
    assert msg.disposition == Disposition.EMPTY and msg.ticket is None
    assert outbox() == []


def test_emoji_in_ucs2_round_trip():
    receive_mo(mo("Terima kasih 👍🏽 Pak", data_coding=8))
    assert Message.objects.get(direction="in").text == "Terima kasih 👍🏽 Pak"


@pytest.mark.parametrize(("source", "ton", "kind"), [
    ("TSEL-INFO", 5, SenderKind.ALPHANUMERIC),
    ("3636", 0, SenderKind.SHORTCODE),
    ("+60123456789", 1, SenderKind.FOREIGN),
    ("0215551234", 0, SenderKind.FIXED),
    ("", 0, SenderKind.INVALID),
])
def test_no_auto_reply_to_senders_that_are_not_indonesian_handsets(source, ton, kind):
    receive_mo(mo("Halo, ada promo", source=source, source_ton=ton))
    conv = Conversation.objects.get()
    assert conv.kind == kind
    assert Ticket.objects.count() == 1  # stored and ticketed all the same
    assert outbox() == []


def test_national_and_international_forms_are_one_conversation():
    receive_mo(mo("satu", source="081234567890"))
    receive_mo(mo("dua", source="6281234567890", source_ton=1))
    receive_mo(mo("tiga", source="+6281234567890"))
    assert Conversation.objects.get().address == CITIZEN
    assert Ticket.objects.get().message_count == 3


def test_at_most_n_auto_replies_per_number_per_day(settings):
    settings.WARTA = {**settings.WARTA, "INBOX_AUTOREPLY_PER_DAY": 2}
    for i in range(5):
        receive_mo(mo(f"pesan ke-{i}"))
    assert len(outbox(CITIZEN)) == 2
    assert Ticket.objects.get().message_count == 5


def test_a_flood_of_1000_messages_a_minute_is_stored_but_not_ticketed_and_acks_stay_capped(settings):
    settings.WARTA = {**settings.WARTA, "INBOX_FLOOD_LIMIT": 20, "INBOX_AUTOREPLY_PER_DAY": 5}
    t0 = timezone.now()
    batch = [mo(f"spam {i}", received_at=t0 + dt.timedelta(milliseconds=60 * i)) for i in range(1000)]
    for start in range(0, 1000, 250):
        receive_mo_batch(batch[start:start + 250], now=t0)
    assert Message.objects.filter(direction="in").count() == 1000
    assert Message.objects.filter(disposition=Disposition.FLOOD).count() == 980
    assert Ticket.objects.get().message_count == 20
    assert len(outbox(CITIZEN)) <= 5


def test_a_blocked_number_is_stored_and_never_answered():
    from warta.inbox.models import BlockedNumber

    BlockedNumber.objects.create(address=CITIZEN, reason="kasar")
    receive_mo(mo("INFO"))
    receive_mo(mo("pesan kasar"))
    assert set(Message.objects.values_list("disposition", flat=True)) == {Disposition.BLOCKED}
    assert not Ticket.objects.exists() and outbox() == []


def test_a_second_message_joins_the_open_ticket_and_a_closed_ticket_gets_a_new_one():
    receive_mo(mo("pertama"))
    receive_mo(mo("kedua"))
    assert Ticket.objects.count() == 1
    t = Ticket.objects.get()
    Ticket.objects.filter(pk=t.pk).update(status="selesai", closed_at=timezone.now())
    receive_mo(mo("ketiga"))
    assert Ticket.objects.count() == 2


def test_a_broken_udh_is_kept_as_text_not_a_crash():
    receive_mo(mo(b"\x09\x00\x03\x01", udhi=True))
    assert Message.objects.filter(direction="in").count() == 1


def test_random_garbage_never_crashes():
    rnd = random.Random(42)
    batch = []
    for i in range(300):
        payload = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 160)))
        batch.append(mo(payload, udhi=rnd.random() < 0.5, data_coding=rnd.choice([0, 1, 2, 3, 4, 8, 0xF4, 0x18]),
                        source=rnd.choice(["+6281234567890", "abc", "12", "+1", "0812"]) + str(i % 3)))
    receive_mo_batch(batch)
    ingest.flush_incomplete(timezone.now() + dt.timedelta(hours=1))
    assert InboundPart.objects.count() == 300


def test_routing_rule_by_keyword_forwards_the_new_ticket_to_the_unit(units):
    from warta.inbox.models import RoutingRule

    RoutingRule.objects.create(kind="keyword", pattern="banjir", unit=units["bpbd"])
    receive_mo(mo("Banjir setinggi pinggang di Cawang"))
    t = Ticket.objects.get()
    assert t.unit == units["bpbd"] and t.status == "disposisi" and t.followup_due_at is not None
    receive_mo(mo("Kebanjiran? tidak", source="+6281299990000"))
    assert Ticket.objects.get(conversation__address="+6281299990000").unit is None


def test_intake_from_the_gateways_inbound_table():
    from warta.gateway.models import Connection, InboundMessage

    conn = Connection.objects.create(name="sim", url="smpp://u:p@127.0.0.1:2775")
    now = timezone.now()
    InboundMessage.objects.create(connection=conn, source="6281234567890", destination="02132881818",
                                  text="Jalan berlubang", received_at=now)
    for seq, piece in ((2, "kedua"), (1, "pertama ")):
        InboundMessage.objects.create(connection=conn, source="6281234567890", destination="02132881818",
                                      text=piece, concat_ref=5, concat_total=2, concat_seq=seq, received_at=now)
    assert ingest.intake_gateway() == 3
    assert ingest.intake_gateway() == 0
    texts = sorted(Message.objects.filter(direction="in").values_list("text", flat=True))
    assert texts == ["Jalan berlubang", "pertama kedua"]
    assert not InboundMessage.objects.filter(processed_at__isnull=True).exists()
