"""SLA clocks in working days with holidays, and escalation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.inbox.conftest import mo
from warta.inbox import services, sla
from warta.inbox.models import Holiday, Notification, Ticket, TicketEvent
from warta.inbox.services import receive_mo

pytestmark = pytest.mark.django_db
WIB = sla.WIB


def test_three_working_days_skip_the_weekend():
    friday = dt.datetime(2026, 3, 6, 15, 0, tzinfo=WIB)
    assert sla.add_working_days(friday, 3, frozenset()) == dt.datetime(2026, 3, 11, 23, 59, 59, tzinfo=WIB)


def test_holidays_are_not_working_days():
    monday = dt.datetime(2026, 3, 16, 9, 0, tzinfo=WIB)
    holidays = frozenset({dt.date(2026, 3, 18), dt.date(2026, 3, 19), dt.date(2026, 3, 20)})
    assert sla.add_working_days(monday, 3, holidays).date() == dt.date(2026, 3, 24)


def test_a_new_ticket_gets_its_verify_deadline_from_the_calendar():
    Holiday.objects.create(date=dt.date(2026, 3, 19), name="Hari Suci Nyepi")
    with time_machine.travel(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB), tick=False):
        receive_mo(mo("Jalan rusak"))
    t = Ticket.objects.get()
    assert t.verify_due_at == dt.datetime(2026, 3, 23, 23, 59, 59, tzinfo=WIB)


def test_configurable_days(settings):
    settings.WARTA = {**settings.WARTA, "INBOX_SLA_VERIFY_DAYS": 1}
    with time_machine.travel(dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB), tick=False):
        receive_mo(mo("Jalan rusak"))
    assert Ticket.objects.get().verify_due_at.astimezone(WIB).date() == dt.date(2026, 3, 18)


def test_overdue_tickets_are_escalated_once_to_the_units_head(actors, units):
    head = actors["liaison"]  # BPBD has no verifier/approver, so its liaison hears of it
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB), tick=False):
        receive_mo(mo("Pohon tumbang"))
        t = Ticket.objects.get()
        services.assign(t, actor=actors["operator"], unit=units["bpbd"])
    with time_machine.travel(dt.datetime(2026, 3, 9, 23, 0, tzinfo=WIB), tick=False):  # 5th working day
        assert services.escalate_overdue() == 0
        assert not services.search_tickets(actors["operator"], {"overdue": True}).exists()
    with time_machine.travel(dt.datetime(2026, 3, 10, 8, 0, tzinfo=WIB), tick=False):
        assert services.escalate_overdue() == 1
        assert services.escalate_overdue() == 0
        assert list(services.search_tickets(actors["operator"], {"overdue": True})) == [t]
    n = Notification.objects.get(user=head, text__contains="melewati batas tindak lanjut")
    assert n.ticket == t
    assert TicketEvent.objects.filter(ticket=t, kind="escalated").count() == 1


def test_unforwarded_tickets_escalate_to_the_sms_center_verifiers(actors):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB), tick=False):
        receive_mo(mo("Lampu mati"))
    with time_machine.travel(dt.datetime(2026, 3, 6, 0, 1, tzinfo=WIB), tick=False):
        assert services.escalate_overdue() == 1
    assert Notification.objects.filter(user=actors["verifier"]).count() == 1


def test_a_unit_head_is_preferred_over_liaisons(actors, units):
    from tests.conftest import create_user

    kepala = create_user("verifier", units["bpbd"], "kepala-bpbd")
    assert services.unit_heads(units["bpbd"]) == [kepala]
