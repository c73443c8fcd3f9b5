"""The outbox services: queueing, control, counts; ``warta send`` and ``warta outbox status``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import Count

from warta.blasts import outbox
from warta.blasts.models import Blast, MessagePart, OutboundMessage, OutboxCount, SenderID

pytestmark = pytest.mark.django_db


@pytest.fixture
def humas(db):
    return SenderID.objects.get_or_create(name="HumasDKI")[0]


def test_create_blast_queues_each_valid_mobile_number_once(humas, actors):
    blast, summary = outbox.create_blast(sender="HumasDKI", text="Halo Jakarta", actor=actors["operator"],
                                         recipients=["0812-3456-7890", "+6281234567890", "021 3288 1818", "abc"])
    assert summary["queued"] == 1 and summary["duplicates"] == 1 and summary["invalid"] == ["021 3288 1818", "abc"]
    msg = OutboundMessage.objects.get(blast=blast)
    assert msg.to == "+6281234567890" and msg.state == "queued" and msg.operator == "telkomsel"
    assert outbox.status_counts(blast.pk)["queued"] == 1


def test_an_unknown_or_inactive_sender_id_is_refused_in_indonesian(humas):
    with pytest.raises(outbox.OutboxError, match="tidak ada"):
        outbox.create_blast(sender="GubDKJ", text="x", recipients=["081234567890"])
    humas.is_active = False
    humas.save()
    with pytest.raises(outbox.OutboxError, match="tidak aktif"):
        outbox.create_blast(sender=humas, text="x", recipients=["081234567890"])


def test_pause_resume_cancel_are_audited_and_cancel_accounts_queued_messages(humas, actors):
    from warta.accounts.models import AuditEvent

    blast, _ = outbox.create_blast(sender=humas, text="x", recipients=[f"08123456{i:04d}" for i in range(10)])
    outbox.pause(blast, actors["operator"])
    with pytest.raises(outbox.OutboxError):
        outbox.pause(blast, actors["operator"])
    outbox.resume(blast, actors["operator"])
    outbox.cancel(blast, actors["operator"])
    assert Blast.objects.get(pk=blast.pk).state == "cancelled"
    assert outbox.status_counts(blast.pk)["cancelled"] == 10 and outbox.status_counts(blast.pk)["queued"] == 0
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "blasts.blast_paused", "blasts.blast_resumed", "blasts.blast_cancelled"}
    assert OutboundMessage.objects.filter(blast=blast, state="cancelled", done_at__isnull=False).count() == 10


def test_counts_squash_to_one_row_per_state_and_keep_their_sum(humas):
    blast, _ = outbox.create_blast(sender=humas, text="x", recipients=["081234567890", "081234567891"])
    OutboxCount.add({(blast.pk, "queued"): -1, (blast.pk, "delivered"): 1})
    OutboxCount.add({(blast.pk, "queued"): -1, (blast.pk, "delivered"): 1})
    OutboxCount.squash()
    assert OutboxCount.objects.filter(blast=blast).count() == 1
    assert outbox.status_counts(blast.pk)["delivered"] == 2


def test_the_database_refuses_a_final_state_without_its_time(humas):
    blast, _ = outbox.create_blast(sender=humas, text="x", recipients=["081234567890"])
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.filter(blast=blast).update(state="delivered")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.filter(blast=blast).update(state="sending")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.filter(blast=blast).update(state="terkirim")


def test_warta_send_queues_an_audited_test_message_marked_uji(humas, actors):
    from warta.accounts.models import AuditEvent

    out = StringIO()
    call_command("send", "Uji SMS Center", "--sender", "HumasDKI", "--to", "081234567890", "--as-user", "admin",
                 stdout=out, stderr=StringIO())
    assert "1 pesan diantrekan" in out.getvalue()
    blast = Blast.objects.get()
    assert blast.text == "[UJI] Uji SMS Center"
    assert OutboundMessage.objects.get(blast=blast).text == ""  # the blast's text, marked, is what goes out
    event = AuditEvent.objects.get(action="outbox.test_send")
    assert event.actor == actors["admin"]
    with pytest.raises(CommandError, match="tidak berhak"):
        call_command("send", "x", "--sender", "HumasDKI", "--to", "081234567890", "--as-user", "operator",
                     stdout=StringIO())
    with pytest.raises(CommandError, match="--to"):
        call_command("send", "x", "--sender", "HumasDKI", stdout=StringIO())


def test_warta_send_marks_a_text_once_even_when_the_administrator_typed_the_mark(humas):
    call_command("send", "[UJI] Uji koneksi", "--sender", "HumasDKI", "--to", "081234567890", stdout=StringIO())
    assert Blast.objects.get().text == "[UJI] Uji koneksi"


def test_warta_send_reads_numbers_from_a_file(humas, tmp_path):
    path = tmp_path / "nomor.txt"
    path.write_text("081234567890\n081234567891\n\nbukan-nomor\n")
    err = StringIO()
    call_command("send", "x", "--sender", "HumasDKI", "--to-file", str(path), stdout=StringIO(), stderr=err)
    assert OutboundMessage.objects.count() == 2 and "bukan-nomor" in err.getvalue()


def test_warta_send_has_the_web_test_sends_cap_and_refuses_more_numbers_queueing_nothing(humas, tmp_path):
    from warta.blasts.testsends import MAX_TEST_NUMBERS

    numbers = [f"08123456{i:04d}" for i in range(MAX_TEST_NUMBERS + 1)]
    path = tmp_path / "nomor.txt"
    path.write_text("\n".join(numbers) + "\n")
    with pytest.raises(CommandError, match=f"paling banyak ke {MAX_TEST_NUMBERS} nomor.*persetujuan"):
        call_command("send", "x", "--sender", "HumasDKI", "--to-file", str(path), stdout=StringIO())
    assert not Blast.objects.exists() and not OutboundMessage.objects.exists()
    # Exactly the cap passes; the same number written twice, or an invalid one, does not count.
    path.write_text("\n".join(numbers[:MAX_TEST_NUMBERS] + ["+6281234560000", "bukan-nomor"]) + "\n")
    err = StringIO()
    call_command("send", "x", "--sender", "HumasDKI", "--to-file", str(path), stdout=StringIO(), stderr=err)
    assert OutboundMessage.objects.count() == MAX_TEST_NUMBERS
    assert "bukan-nomor" in err.getvalue() and "1 nomor ganda" in err.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    (["   ", "--sender", "HumasDKI", "--to", "081234567890"], "Teks SMS uji kosong"),
    (["x", "--sender", "GubDKJ", "--to", "081234567890"], "Sender ID 'GubDKJ' tidak ada"),
    (["x", "--sender", "HumasDKI", "--to", "021 3288 1818", "--to", "abc"], "Tidak ada nomor ponsel yang valid"),
])
def test_warta_send_refuses_bad_input_in_indonesian_and_queues_nothing(humas, args, message):
    from warta.accounts.models import AuditEvent

    with pytest.raises(CommandError, match=message):
        call_command("send", *args, stdout=StringIO(), stderr=StringIO())
    assert not Blast.objects.exists() and not OutboundMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="outbox.test_send").exists()


def test_warta_send_speaks_english_second(humas):
    from django.utils import translation

    with translation.override("en"), pytest.raises(CommandError, match="at most 10 numbers.*approval"):
        call_command("send", "x", "--sender", "HumasDKI", *[f"--to=08123456{i:04d}" for i in range(11)],
                     stdout=StringIO())


def test_the_web_test_send_and_warta_send_share_one_rule(humas, actors):
    """The cap holds in the shared service itself, whoever calls it (a draft's test send too)."""
    from warta.blasts import testsends

    with pytest.raises(testsends.TestSendError, match="paling banyak"):
        testsends.queue_test_message(sender=humas, text="x", name="uji", actor=actors["operator"],
                                     audit_action="blasts.test_blast_created",
                                     recipients=[f"08123456{i:04d}" for i in range(testsends.MAX_TEST_NUMBERS + 1)])
    assert not Blast.objects.exists()


def test_outbox_status_prints_counts_per_state_as_json(humas):
    blast, _ = outbox.create_blast(sender=humas, text="x", recipients=["081234567890", "081234567891"])
    out = StringIO()
    call_command("outbox", "status", "--json", "--blast", str(blast.pk), stdout=out)
    data = json.loads(out.getvalue())
    assert data["states"]["queued"] == 2 and data["total"] == 2 and data["blast"] == blast.pk
    text = StringIO()
    call_command("outbox", "status", stdout=text)
    assert "antre" in text.getvalue()


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="statements read after the COMMIT: PostgreSQL's pipeline mode")
def test_statements_read_after_the_commit_book_exactly_the_rows_they_moved(humas):
    """The engine's send lane queues its claim and its ``submitted`` UPDATE in psycopg's pipeline
    and reads their rows after the COMMIT; each statement books its own counts and costs. A row
    that did not move (here one another engine's reaper made ``unknown`` meanwhile) is neither
    counted nor charged, and the callbacks get exactly the rows moved, in one round trip."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from django.db import connection

    from warta.blasts.transitions import Later, Outbox
    from warta.gateway import services

    conn = services.add_connection("uji", "smpp://warta:rahasia@127.0.0.1:2775")
    blast, _ = outbox.create_blast(sender="HumasDKI", text="Info banjir",
                                   recipients=[f"+62812555000{i:02d}" for i in range(6)])
    now = datetime.now(UTC)
    claimed: list[tuple] = []
    submitted: list[tuple] = []
    ob = Outbox()
    later = Later()
    with transaction.atomic():
        with connection.connection.pipeline():
            ob.claim(blast.pk, 4, now, engine_id="e1", mark_conn=conn.pk, later=(later, claimed.extend))
            ob.write_counts()
        assert not claimed  # read only after the COMMIT
    later.run()
    assert len(claimed) == 4 and all(row[4] == 0 for row in claimed)  # attempts before this send
    assert outbox.status_counts(blast.pk)["sending"] == 4 and outbox.status_counts(blast.pk)["queued"] == 2

    ids = [row[0] for row in claimed]
    with transaction.atomic():
        ob.move("reap_unknown", ids[:1], set_params=["engine mati"], where="engine_id=%s", where_params=["e1"])
        ob.write_counts()
    with transaction.atomic():
        with connection.connection.pipeline():
            ob.submit([(i, Decimal("350")) for i in ids], conn.pk, now, engine_id="e1",
                      parts=[(i, conn.pk, f"smsc-{i}", 1, 1, now) for i in ids], later=(later, submitted.extend))
    later.run()
    assert sorted(r[0] for r in submitted) == sorted(ids[1:])
    counts = {s: n for s, n in outbox.status_counts(blast.pk).items() if n}
    rows = dict(OutboundMessage.objects.filter(blast=blast).values_list("state").annotate(n=Count("id")))
    assert counts == rows == {"submitted": 3, "unknown": 1, "queued": 2}
    assert OutboxCount.cost_total(blast.pk) == Decimal("1050")
    assert sorted(MessagePart.objects.filter(message__blast=blast).values_list("message_id", flat=True)) == sorted(ids[1:])
