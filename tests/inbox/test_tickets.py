"""Tickets: lifecycle, assignment, replies, notes, bulk, blocklist, permissions, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tests.conftest import login
from tests.inbox.conftest import CITIZEN, create_ticket, outbox, text_of
from warta.accounts.models import AuditEvent
from warta.inbox import services
from warta.inbox.models import BlockedNumber, Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_lifecycle_operator_routes_liaison_replies_and_closes(actors, units, ticket):
    op, liaison = actors["operator"], actors["liaison"]
    services.set_status(ticket, "koordinasi", actor=op)
    services.assign(ticket, actor=op, unit=units["bpbd"])
    ticket.refresh_from_db()
    assert ticket.status == "disposisi" and ticket.forwarded_at and ticket.followup_due_at
    msg = services.reply(ticket, "Petugas BPBD menuju lokasi.", actor=liaison)
    ticket.refresh_from_db()
    assert ticket.status == "proses"
    assert text_of(outbox(CITIZEN)[-1]) == "Petugas BPBD menuju lokasi." and msg.outbox_id
    services.reply(ticket, "Sudah ditangani.", actor=liaison, close=True)
    ticket.refresh_from_db()
    assert ticket.status == "selesai" and ticket.closed_at
    actions = list(AuditEvent.objects.filter(object_id=str(ticket.pk)).values_list("action", flat=True))
    assert {"inbox.ticket.status", "inbox.ticket.assign", "inbox.ticket.reply"} <= set(actions)


def test_it_refuses_transitions_not_in_the_table(actors, ticket):
    with pytest.raises(services.TicketError):
        services.set_status(ticket, "proses", actor=actors["operator"])
    with pytest.raises(services.TicketError):
        services.set_status(ticket, "disposisi", actor=actors["operator"])  # no unit yet
    services.set_status(ticket, "spam", actor=actors["operator"])
    with pytest.raises(services.TicketError):
        services.set_status(ticket, "menunggu", actor=actors["operator"])


def test_unit_liaison_cannot_work_other_units_tickets(actors, units, ticket):
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    with pytest.raises(PermissionDenied):
        services.reply(ticket, "x", actor=actors["other_liaison"])
    assert not services.tickets_for(actors["other_liaison"]).filter(pk=ticket.pk).exists()
    assert services.tickets_for(actors["liaison"]).filter(pk=ticket.pk).exists()
    with pytest.raises(PermissionDenied):
        services.assign(ticket, actor=actors["liaison"], unit=units["dinkes"])


def test_a_liaison_can_return_a_ticket_to_the_sms_center(actors, units, ticket):
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    services.set_status(ticket, "koordinasi", actor=actors["liaison"], note="Bukan wewenang BPBD")
    ticket.refresh_from_db()
    assert ticket.unit is None and ticket.status == "koordinasi" and ticket.followup_due_at is None


def test_notes_are_internal_and_searchable(actors, ticket):
    services.add_note(ticket, "Cek dengan lurah Kemayoran", actor=actors["operator"])
    assert TicketEvent.objects.filter(ticket=ticket, kind="note").exists()
    assert len(outbox(CITIZEN)) == 1  # only the acknowledgement
    found = services.search_tickets(actors["operator"], {"q": "lurah"})
    assert list(found) == [ticket]


def test_search_and_filters(actors, units):
    a = create_ticket("Banjir di Cawang")
    b = create_ticket("KTP hilang", source="+6281311112222")
    services.assign(b, actor=actors["operator"], unit=units["dinkes"])
    op = actors["operator"]
    assert list(services.search_tickets(op, {"q": "banjir cawang"})) == [a]
    assert list(services.search_tickets(op, {"unit": units["dinkes"]})) == [b]
    assert list(services.search_tickets(op, {"number": "0813 1111"})) == [b]
    assert list(services.search_tickets(op, {"q": f"#{a.pk}"})) == [a]
    assert set(services.search_tickets(op, {"status": "disposisi"})) == {b}
    # A role without numbers.view_full cannot probe numbers through the filter.
    assert set(services.search_tickets(actors["verifier"], {"number": "0813"})) == {a, b}


def test_bulk_action_assigns_many_and_reports_errors(actors, units):
    t1 = create_ticket("satu")
    t2 = create_ticket("dua", source="+6281311112222")
    services.set_status(t2, "spam", actor=actors["operator"])
    done, errors = services.bulk_action([t1.pk, t2.pk], "assign", actor=actors["operator"], unit=units["bpbd"])
    assert done == 1 and len(errors) == 1
    with pytest.raises(PermissionDenied):
        services.bulk_action([t1.pk], "spam", actor=actors["liaison"])


def test_blocklist_stops_replies(actors, ticket):
    services.block_number(CITIZEN, actor=actors["operator"], reason="kasar")
    assert BlockedNumber.objects.filter(address=CITIZEN).exists()
    with pytest.raises(services.TicketError):
        services.reply(ticket, "halo", actor=actors["operator"])
    with pytest.raises(PermissionDenied):
        services.block_number("+6281", actor=actors["analyst"])


# --------------------------------------------------------------------------- pages


def test_inbox_page_lists_tickets_with_masked_numbers_for_roles_without_view_full(client, actors, ticket):
    login(client, actors["verifier"])
    body = client.get(reverse("inbox:index")).content.decode()
    assert f"#{ticket.number}" in body and "0812****7890" in body and "081234567890" not in body
    login(client, actors["operator"])
    body = client.get(reverse("inbox:index")).content.decode()
    assert "081234567890" in body


def test_live_rows_partial_for_htmx(client, actors, ticket):
    login(client, actors["operator"])
    r = client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<html" not in r.content.decode() and f"#{ticket.number}" in r.content.decode()


def test_outsider_liaison_gets_404_on_another_units_ticket(client, actors, units, ticket):
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    login(client, actors["other_liaison"])
    assert client.get(reverse("inbox:ticket", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("inbox:reply", args=[ticket.pk]), {"text": "x"}).status_code == 404
    assert f'data-ticket="{ticket.pk}"' not in client.get(reverse("inbox:index")).content.decode()
    login(client, actors["liaison"])
    assert client.get(reverse("inbox:ticket", args=[ticket.pk])).status_code == 200


def test_roles_without_the_inbox_area_get_403(client, actors, ticket):
    login(client, actors["approver"])
    assert client.get(reverse("inbox:index")).status_code == 403
    assert client.get(reverse("inbox:ticket", args=[ticket.pk])).status_code == 403


def test_anonymous_is_sent_to_login(client, ticket):
    r = client.get(reverse("inbox:ticket", args=[ticket.pk]))
    assert r.status_code == 302 and r["Location"].startswith(reverse("accounts:login"))


def test_liaison_cannot_forward_or_bulk(client, actors, units, ticket):
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    login(client, actors["liaison"])
    assert client.post(reverse("inbox:assign", args=[ticket.pk]), {"unit": units["dinkes"].pk}).status_code == 403
    assert client.post(reverse("inbox:bulk"), {"ids": [ticket.pk], "action": "spam"}).status_code == 403


def test_analyst_reads_but_cannot_reply(client, actors, ticket):
    login(client, actors["analyst"])
    assert client.get(reverse("inbox:ticket", args=[ticket.pk])).status_code == 200
    assert client.post(reverse("inbox:reply", args=[ticket.pk]), {"text": "x"}).status_code == 403
    assert not Message.objects.filter(disposition="reply").exists()


def test_reply_through_the_page(client, actors, ticket):
    login(client, actors["operator"])
    r = client.post(reverse("inbox:reply", args=[ticket.pk]), {"text": "Terima kasih, sedang kami cek.", "close": "on"})
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "selesai"
    page = client.get(reverse("inbox:ticket", args=[ticket.pk])).content.decode()
    assert "Terima kasih, sedang kami cek." in page


def test_a_double_click_on_reply_texts_the_citizen_once(client, actors, ticket):
    import datetime as dt

    import time_machine

    login(client, actors["operator"])
    url = reverse("inbox:reply", args=[ticket.pk])
    client.post(url, {"text": "Pompa sudah dikirim."})
    client.post(url, {"text": "Pompa sudah dikirim."})  # the second click of a double click
    assert Message.objects.filter(disposition="reply").count() == 1
    # The same words sent again deliberately, later, are a new reply.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)):
        services.reply(ticket, "Pompa sudah dikirim.", actor=actors["operator"])
    assert Message.objects.filter(disposition="reply").count() == 2


def test_csrf_is_enforced(actors, ticket):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    login(c, actors["operator"])
    assert c.post(reverse("inbox:reply", args=[ticket.pk]), {"text": "x"}).status_code == 403


def test_config_tables_are_for_administrators(client, actors, units):
    login(client, actors["operator"])
    assert client.get(reverse("inbox:config", args=["kata-kunci"])).status_code == 403
    assert client.get(reverse("inbox:config", args=["blokir"])).status_code == 200
    login(client, actors["admin"])
    r = client.post(reverse("inbox:config", args=["aturan-rute"]),
                    {"kind": "keyword", "pattern": "sampah", "unit": units["dinkes"].pk, "priority": 1, "is_active": "on"})
    assert r.status_code == 302
    assert AuditEvent.objects.filter(action="inbox.aturan-rute.create").exists()
    r = client.post(reverse("inbox:config", args=["kata-kunci"]),
                    {"word": "posko", "action": "reply", "reply": "Posko di kelurahan", "is_active": "on"})
    assert r.status_code == 302
    from warta.inbox.models import Keyword

    assert Keyword.objects.filter(word="POSKO").exists()


def test_bulk_through_the_page(client, actors, units):
    t1 = create_ticket("satu")
    login(client, actors["operator"])
    client.post(reverse("inbox:bulk"), {"ids": [t1.pk], "action": "assign", "unit": units["bpbd"].pk})
    assert Ticket.objects.get(pk=t1.pk).unit == units["bpbd"]
