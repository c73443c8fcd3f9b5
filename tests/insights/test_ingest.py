"""Classification at ingest: topic, urgency and place on the ticket, routing by topic, counters,
an analyst's correction counted in the next training, polls counted not ticketed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import login
from tests.inbox.conftest import mo
from warta.inbox.models import Message, RoutingRule, Ticket
from warta.inbox.services import receive_mo, receive_mo_batch
from warta.insights import engine, services
from warta.insights.models import Classification, DailyCount, Topic

pytestmark = pytest.mark.django_db
FLOOD = "TOLONG banjir sdh sedada di kel. kp melayu, ada lansia terjebak"


@pytest.fixture(autouse=True)
def _fresh_engine():
    engine.reset()
    yield
    engine.reset()


def test_a_flood_sms_is_classified_urgent_placed_and_routed_to_bpbd(units):
    RoutingRule.objects.create(kind="topic", pattern="banjir", unit=units["bpbd"], priority=10)
    receive_mo(mo(FLOOD, source="+6281311110001"))
    t = Ticket.objects.select_related("topic", "region").get()
    assert t.topic.code == "banjir" and t.urgent and t.region.name == "Kampung Melayu"
    assert t.unit == units["bpbd"] and t.status == "disposisi"
    c = Classification.objects.get()
    assert c.ticket == t and c.place_source == "text" and "sedada" in c.why and c.unit_id == units["bpbd"].pk
    today = services.today_wib()
    fig = services.figures(today, today)
    assert fig["total"] == 1 and fig["urgent"] == 1 and fig["by_topic"][0]["code"] == "banjir"
    assert any(r["name"] == "Jatinegara" and r["count"] == 1 for r in fig["regions"])
    assert services.figures(today, today, unit=units["dinkes"])["total"] == 0  # another unit's slice


def test_urgent_tickets_come_first_in_the_inbox():
    receive_mo(mo("lampu jalan mati di kemayoran", source="+6281311110002"))
    receive_mo(mo(FLOOD, source="+6281311110003"))
    receive_mo(mo("sampah belum diangkut", source="+6281311110004"))
    assert [t.urgent for t in Ticket.objects.all()] == [True, False, False]


def test_a_message_without_a_place_takes_the_contacts_region():
    from warta.contacts.models import Contact, Region

    kel = Region.objects.get(code="31.71.01.1001")
    Contact.objects.create(e164="+6281311110005", region=kel)
    receive_mo(mo("sampah menumpuk sudah seminggu", source="+6281311110005"))
    c = Classification.objects.get()
    assert c.region == kel and c.place_source == "contact"


def test_bad_input_at_ingest_is_lainnya_and_never_fails():
    results = receive_mo_batch([mo("😀", source="+6281311110006", data_coding=8),
                                mo(b"\x00\xff\x10", source="+6281311110007", data_coding=4),
                                mo("Hello there how are you", source="+6281311110008")])
    assert results == ["stored"] * 3
    assert set(Classification.objects.values_list("topic__code", flat=True)) == {"lainnya"}
    assert not Classification.objects.filter(urgent=True).exists()


def test_an_analysts_correction_moves_the_counts_and_feeds_the_next_training(client, actors):
    receive_mo(mo("air pam mati tiga hari di kel. gambir", source="+6281311110009"))
    c = Classification.objects.get()
    assert c.topic.code == "air"
    login(client, actors["analyst"])
    resp = client.post(f"/analisis/koreksi/{c.pk}/", {"topic": "lingkungan"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.topic.code == "lingkungan" and c.predicted_topic.code == "air" and c.corrected_by == actors["analyst"]
    assert Ticket.objects.get().topic.code == "lingkungan"
    counts = dict(DailyCount.objects.values_list("topic_id", "count"))
    assert counts[Topic.objects.get(code="air").pk] == 0 and counts[Topic.objects.get(code="lingkungan").pk] == 1
    examples, corrections = engine.training_examples()
    assert corrections == 1 and examples[-1].topic == "lingkungan" and "air pam mati" in examples[-1].text
    row = engine.retrain()
    assert row.corrections == 1 and row.is_active


def test_an_outsider_cannot_correct(client, actors):
    receive_mo(mo("air pam mati", source="+6281311110010"))
    c = Classification.objects.get()
    login(client, actors["liaison"])
    assert client.post(f"/analisis/koreksi/{c.pk}/", {"topic": "lingkungan"}).status_code == 403


def test_poll_replies_in_the_window_are_counted_not_ticketed_and_outside_become_tickets(actors):
    from warta.blasts.models import Blast, SenderID
    from warta.blasts.workflow import Draft
    from warta.contacts.models import Contact, Region
    from warta.insights.models import Poll
    from warta.insights.polls import close_due, parse_options

    sender = SenderID.objects.create(name="HumasDKI")
    blast = Blast.objects.create(name="jajak", sender=sender, text="Setuju CFD diperpanjang? Balas 1=Setuju 2=Tidak")
    now = timezone.now()
    draft = Draft.objects.create(sender=sender, author=actors["operator"], title="jajak", text=blast.text,
                                 state="released", blast=blast, released_at=now - dt.timedelta(minutes=5))
    poll = Poll.objects.create(draft=draft, question="Setuju CFD diperpanjang?",
                               options=parse_options("1=Setuju\n2=Tidak setuju"), window_hours=24,
                               created_by=actors["operator"])
    kec = Region.objects.get(code="31.71.01.1001")
    Contact.objects.create(e164="+6281311110011", region=kec)
    receive_mo_batch([mo("1", source="+6281311110011"), mo("pilih 2", source="+6281311110012"),
                      mo("SETUJU!", source="+6281311110013"), mo("jalan rusak di kemayoran", source="+6281311110014")])
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(disposition="poll").count() == 3
    r = services.poll_results(poll)
    assert r["total"] == 3 and [o["count"] for o in r["options"]] == [2, 1]
    assert r["by_kecamatan"][0]["code"] == "31.71.01" and r["by_kecamatan"][0]["options"]["1"] == 1
    received = []
    from warta.insights.signals import poll_closed

    def on_closed(sender, poll, results, **kw):
        received.append(results["total"])

    poll_closed.connect(on_closed)
    try:
        closed = close_due(now + dt.timedelta(hours=25))
    finally:
        poll_closed.disconnect(on_closed)
    assert [p.pk for p in closed] == [poll.pk] and received == [3]
    receive_mo(mo("1", source="+6281311110015"))  # after the window: an ordinary ticket
    assert Ticket.objects.count() == 2


def test_blast_impact_counts_recipients_replies_optouts_and_new_tickets_after_against_before(client, actors):
    import time_machine

    from warta.blasts.models import Blast, OutboundMessage, SenderID
    from warta.contacts.services import opt_out

    start = timezone.now() - dt.timedelta(hours=72)
    sender = SenderID.objects.create(name="HumasDKI")
    with time_machine.travel(start, tick=False):
        receive_mo(mo("sampah menumpuk di kel. gambir", source="+6281311110031"))  # before the blast
    with time_machine.travel(start + dt.timedelta(hours=48), tick=False):
        blast = Blast.objects.create(name="CFD", sender=sender, text="Car free day Minggu")
    OutboundMessage.objects.bulk_create([
        OutboundMessage(blast=blast, to=n, next_attempt_at=blast.created_at, created_at=blast.created_at)
        for n in ("+6281311110031", "+6281311110032", "+6281311110033")])
    with time_machine.travel(start + dt.timedelta(hours=50), tick=False):
        receive_mo(mo("macet parah di kel. gambir karena cfd", source="+6281311110032"))
        receive_mo(mo("Hello", source="+6281399999999"))  # not a recipient: not attributed
        opt_out("+6281311110033", "sms", reason="BERHENTI")
    impact = services.blast_impact(blast)
    assert impact["before"] == {"replies": 1, "optouts": 0, "tickets": 1, "topics": {"sampah": 1}}
    assert impact["after"] == {"replies": 1, "optouts": 1, "tickets": 1, "topics": {"transportasi": 1}}
    login(client, actors["operator"])
    page = client.get(f"/blast/konsol/{blast.pk}/").content.decode()
    assert 'data-testid="blast-impact"' in page and 'data-testid="impact-replies">1<' in page


def test_reference_rows_loaded_again_under_new_ids_are_not_remembered_by_their_old_ids():
    # A flush and reseed (the test suite's transactional tests, a restored database) gives the
    # topics new ids; the per-process caches must be dropped with them, else ingest inserts a
    # classification pointing at a topic id that no longer exists (a foreign-key failure: 503s).
    from warta.insights import ingest

    ingest.forget_caches()
    old = ingest.topic_ids()["lainnya"]
    new = Topic.objects.order_by("-pk").values_list("pk", flat=True).first() + 100
    Topic.objects.filter(pk=old).update(id=new)
    assert ingest.topic_ids()["lainnya"] == old  # still cached: that is what the reseed must forget
    ingest.forget_caches()
    assert ingest.topic_ids()["lainnya"] == new
    try:
        receive_mo(mo("halo", source="+6281311110009"))
        assert Classification.objects.get().topic_id == new
    finally:
        ingest.forget_caches()  # the renumbered id is rolled back with this test: later tests must not see it


def test_an_open_ticket_takes_the_topic_and_place_of_a_later_complaint():
    receive_mo(mo("selamat pagi", source="+6281311110041"))
    assert Ticket.objects.get().topic.code == "lainnya"
    receive_mo(mo("sampah menumpuk belum diangkut di kel. gambir", source="+6281311110041"))
    t = Ticket.objects.select_related("topic", "region").get()
    assert t.topic.code == "sampah" and t.region.name == "Gambir" and t.message_count == 2


def test_a_ticket_forwarded_by_a_person_counts_for_that_units_slice_with_its_outcome(units, actors):
    from warta.inbox import services as inbox

    receive_mo(mo("banyak warga kena demam berdarah di kel. gambir", source="+6281311110051"))
    t = Ticket.objects.get()
    assert t.unit is None
    today = services.today_wib()
    assert services.figures(today, today, unit=units["dinkes"])["total"] == 0
    inbox.assign(t, actor=actors["operator"], unit=units["dinkes"])
    fig = services.figures(today, today, unit=units["dinkes"])
    assert fig["total"] == 1 and fig["by_topic"][0]["code"] == "kesehatan"
    assert services.figures(today, today)["total"] == 1  # moved, not added
    [row] = [u for u in fig["units"] if u["unit_id"] == units["dinkes"].pk]
    assert row["forwarded"] == 1
    inbox.reply(Ticket.objects.get(), "Tim fogging dijadwalkan besok.", actor=actors["other_liaison"], close=True)
    [row] = [u for u in services.figures(today, today, unit=units["dinkes"])["units"]
             if u["unit_id"] == units["dinkes"].pk]
    assert row["closed"] == 1 and row["within_sla"] == 1 and row["sla_rate"] == 1.0
