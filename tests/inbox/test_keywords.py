"""Keywords: BERHENTI/STOP/UNREG, DAFTAR/REG, INFO, STATUS, and the editable table."""

from __future__ import annotations

import pytest

from tests.inbox.conftest import CITIZEN, create_ticket, mo, outbox, text_of
from warta.inbox.models import Disposition, Keyword, Message, Ticket
from warta.inbox.services import receive_mo

pytestmark = pytest.mark.django_db


def last_reply() -> str:
    return text_of(outbox(CITIZEN)[-1])


@pytest.mark.parametrize("word", ["BERHENTI", "stop", "Unreg.", " Stop "])
def test_opt_out_keywords_opt_out_and_confirm_by_sms(word):
    from warta.contacts.models import OptOut

    receive_mo(mo(word))
    assert OptOut.objects.filter(e164=CITIZEN, channel="sms").exists()
    assert "berhenti menerima SMS" in last_reply()
    assert not Ticket.objects.exists()
    assert Message.objects.get(direction="in").disposition == Disposition.KEYWORD


def test_daftar_with_a_kelurahan_opts_in_with_the_region():
    from warta.contacts.models import Contact, OptOut, Region
    from warta.contacts.regions import load_regions

    load_regions()
    kel = Region.objects.filter(level="kelurahan").first()
    receive_mo(mo("BERHENTI"))
    receive_mo(mo(f"DAFTAR {kel.name}"))
    assert not OptOut.objects.filter(e164=CITIZEN).exists()
    assert Contact.objects.get(e164=CITIZEN).region_id == kel.pk
    assert "terdaftar" in last_reply()


def test_daftar_with_an_unknown_kelurahan_answers_with_the_format():
    receive_mo(mo("REG Atlantis"))
    assert "Format: DAFTAR" in last_reply()


def test_info_answers_with_the_info_text():
    receive_mo(mo("info"))
    assert "STATUS <nomor tiket>" in last_reply()


def test_status_answers_the_tickets_status_unit_and_last_update():
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC), tick=False):
        ticket = create_ticket()  # 09:30 WIB
    Ticket.objects.filter(pk=ticket.pk).update(status="koordinasi")
    receive_mo(mo(f"STATUS {ticket.number}"))
    assert last_reply() == f"Tiket {ticket.number}: Koordinasi (SMS Center), diperbarui 01/12/2026 09:30 WIB."
    receive_mo(mo(f"status #{ticket.number}?"))  # another shape, not a duplicate PDU
    assert last_reply() == f"Tiket {ticket.number}: Koordinasi (SMS Center), diperbarui 01/12/2026 09:30 WIB."


def test_status_names_the_unit_a_forwarded_ticket_is_with(actors, units):
    from warta.inbox import services

    ticket = create_ticket()
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    receive_mo(mo(f"STATUS {ticket.number}"))
    assert f"Tiket {ticket.number}: Disposisi ({units['bpbd']})" in last_reply()


def test_status_of_someone_elses_ticket_is_not_found():
    other = create_ticket(source="+6281311112222")
    receive_mo(mo(f"STATUS {other.number}"))
    assert "tidak ditemukan" in last_reply()
    receive_mo(mo("STATUS abc"))
    assert "tidak ditemukan" in last_reply()


def test_an_administrator_edited_keyword_reply_is_used():
    Keyword.objects.create(word="posko", action="reply", reply="Posko banjir: kantor kelurahan terdekat. {center}")
    receive_mo(mo("POSKO dimana"))
    assert last_reply() == "Posko banjir: kantor kelurahan terdekat. 02132881818"


def test_an_inactive_keyword_is_a_normal_message():
    Keyword.objects.filter(word="INFO").update(is_active=False)
    receive_mo(mo("INFO banjir"))
    assert Ticket.objects.count() == 1


def test_a_broken_template_does_not_crash():
    Keyword.objects.create(word="RUSAK", action="reply", reply="Nilai {0} {tidak ada} {")
    receive_mo(mo("RUSAK"))
    assert last_reply() == "Nilai {0} {tidak ada} {"


def test_keywords_from_an_alphanumeric_sender_get_no_answer():
    receive_mo(mo("STOP", source="PROMO", source_ton=5))
    assert outbox() == []
