"""The citizen hears back: an SMS when the ticket is forwarded to a unit and when it is closed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login
from tests.inbox.conftest import CITIZEN, create_ticket, mo, outbox, text_of
from warta.accounts.models import AuditEvent
from warta.inbox import services
from warta.inbox.models import Message, NoticeTemplate, Ticket

pytestmark = pytest.mark.django_db


def test_forwarding_to_a_unit_tells_the_citizen_which_unit(actors, units, ticket):
    services.assign(ticket, actor=actors["operator"], unit=units["dinkes"])
    last = outbox(CITIZEN)[-1]
    assert text_of(last) == (f"Tiket {ticket.number} Anda diteruskan ke Dinas Kesehatan untuk ditindaklanjuti. "
                             f"Cek status: kirim STATUS {ticket.number} ke 02132881818.")
    assert Message.objects.filter(ticket=ticket, disposition="notice", outbox_id=last.pk).exists()


def test_assigning_only_an_operator_sends_nothing(actors, ticket):
    before = len(outbox(CITIZEN))
    services.assign(ticket, actor=actors["operator"], assignee=actors["operator"], forward=False)
    assert len(outbox(CITIZEN)) == before


def test_an_auto_routed_ticket_gets_one_sms_naming_the_unit(units):
    from warta.inbox.models import RoutingRule
    from warta.inbox.services import receive_mo

    RoutingRule.objects.create(kind="keyword", pattern="banjir", unit=units["bpbd"])
    receive_mo(mo("Banjir setinggi pinggang di Cawang"))
    [sms] = outbox(CITIZEN)
    assert "diteruskan ke BPBD" in text_of(sms)


def test_closing_with_a_reply_sends_the_answer_once_in_the_closed_words(actors, ticket):
    before = len(outbox(CITIZEN))
    services.reply(ticket, "Sampah sudah diangkut pagi ini.", actor=actors["operator"], close=True)
    sent = outbox(CITIZEN)[before:]
    assert [text_of(s) for s in sent] == [f"Tiket {ticket.number} selesai. Sampah sudah diangkut pagi ini."]
    assert Ticket.objects.get(pk=ticket.pk).status == "selesai"


def test_closing_by_status_sends_the_note_as_the_answer(actors, ticket):
    before = len(outbox(CITIZEN))
    services.set_status(ticket, "selesai", actor=actors["operator"], note="Lampu sudah diganti.")
    [sms] = outbox(CITIZEN)[before:]
    assert text_of(sms) == f"Tiket {ticket.number} selesai. Lampu sudah diganti."


def test_spam_and_numbers_that_cannot_receive_sms_hear_nothing(actors):
    spam = create_ticket("beli pulsa murah")
    before = len(outbox())
    services.set_status(spam, "spam", actor=actors["operator"])
    fixed = create_ticket("Jalan rusak", source="+62215550000")  # a fixed line: no SMS at all
    services.set_status(fixed, "selesai", actor=actors["operator"], note="Sudah diperbaiki.")
    assert len(outbox()) == before


def test_an_administrator_edits_the_words_in_settings_and_the_edit_is_audited(client, actors, units, ticket):
    login(client, actors["admin"])
    url = reverse("inbox:config", args=["templat-sms"])
    assert client.get(url).status_code == 200
    # Migration 0004 seeds one row per kind with the default words.
    row, _created = NoticeTemplate.objects.get_or_create(kind="forwarded", defaults={"text": "bawaan"})
    r = client.post(reverse("inbox:config_edit", args=["templat-sms", row.pk]),
                    {"kind": "forwarded", "text": "Tiket {ticket} kini ditangani {unit}."})
    assert r.status_code == 302
    audit = AuditEvent.objects.get(action="inbox.templat-sms.edit")
    assert "kini ditangani" in str(audit.changes)
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    assert text_of(outbox(CITIZEN)[-1]) == f"Tiket {ticket.number} kini ditangani BPBD."
    login(client, actors["operator"])
    assert client.get(url).status_code == 403
