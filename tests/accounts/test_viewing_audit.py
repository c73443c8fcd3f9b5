"""Reading personal data on screen is audited, once per record, session and hour (#11, item 16)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.conftest import login
from tests.contacts.conftest import create_contact
from tests.inbox.conftest import create_ticket
from warta.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def viewed(object_type: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="data.viewed", object_type=object_type).order_by("id"))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from django.core.cache import cache

    cache.clear()


def test_a_contact_page_is_recorded_once_per_session_and_hour(client: Client, actors: dict[str, Any]) -> None:
    contact = create_contact(name="Siti Aminah")
    login(client, actors["operator"])
    start = dt.datetime.now(dt.UTC)
    url = reverse("contacts:detail", args=[contact.pk])
    for _ in range(3):
        assert client.get(url).status_code == 200
    [event] = viewed("contacts.contact")
    assert event.actor == actors["operator"] and event.object_id == str(contact.pk)
    assert "Siti" not in str(event.changes) + event.object_repr and contact.e164 not in str(event.changes)
    with time_machine.travel(start + dt.timedelta(minutes=61)):
        login(client, actors["operator"])
        client.get(url)
    assert len(viewed("contacts.contact")) == 2
    # Another session of another person is its own record.
    login(Client(), actors["admin"]).get(url)
    assert len(viewed("contacts.contact")) == 3


def other_worker() -> None:
    """The next request is served by another web worker: nothing of this process's memory is left."""
    from django.core.cache import cache

    cache.clear()


def test_a_record_is_noted_once_per_session_and_hour_whichever_worker_serves_the_page(
        client: Client, actors: dict[str, Any]) -> None:
    contacts = [create_contact(name=f"Warga {i}") for i in range(3)]
    login(client, actors["operator"])
    start = dt.datetime.now(dt.UTC)
    page = reverse("contacts:detail", args=[contacts[0].pk])
    client.get(page)
    other_worker()
    client.get(page)
    assert len(viewed("contacts.contact")) == 1
    # A list naming that record and two others, on a third worker: only the two are new.
    other_worker()
    client.get(reverse("contacts:index"))
    events = viewed("contacts.contact")
    assert len(events) == 2 and sorted(events[-1].changes["ids"]) == sorted(str(c.pk) for c in contacts[1:])
    other_worker()
    client.get(reverse("contacts:index"))
    client.get(reverse("contacts:detail", args=[contacts[2].pk]))
    assert len(viewed("contacts.contact")) == 2
    # The session is named by a keyed hash, never by its key.
    assert client.session.session_key not in str(events[-1].changes)
    # Another session of the same person is its own record.
    login(Client(), actors["operator"]).get(page)
    assert len(viewed("contacts.contact")) == 3
    # The same session, kept alive (idle timeout 30 minutes), is noted again once its hour ends.
    for minutes in (25, 50, 61):
        with time_machine.travel(start + dt.timedelta(minutes=minutes)):
            other_worker()
            assert client.get(page).status_code == 200
    assert len(viewed("contacts.contact")) == 4


def test_the_inbox_polled_through_several_workers_writes_nothing_new(client: Client, actors: dict[str, Any]) -> None:
    tickets = [create_ticket(source=f"+62812555100{i}") for i in range(3)]
    login(client, actors["admin"])
    client.get(reverse("inbox:index"))
    before = AuditEvent.objects.count()
    for _ in range(3):
        other_worker()
        client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
    assert AuditEvent.objects.count() == before
    assert sorted(viewed("inbox.ticket")[0].changes["ids"]) == sorted(str(t.pk) for t in tickets)


def test_the_inbox_with_full_numbers_is_recorded_once_and_its_polls_write_nothing(client: Client, actors: dict[str, Any]) -> None:
    tickets = [create_ticket(source=f"+62812555000{i}") for i in range(3)]
    login(client, actors["admin"])  # administrators see full numbers
    assert client.get(reverse("inbox:index")).status_code == 200
    [event] = viewed("inbox.ticket")
    assert sorted(event.changes["ids"]) == sorted(str(t.pk) for t in tickets)
    before = AuditEvent.objects.count()
    for _ in range(5):
        client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
    assert AuditEvent.objects.count() == before
    new = create_ticket(source="+6281255500099")
    client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
    assert viewed("inbox.ticket")[-1].changes["ids"] == [str(new.pk)]


def test_a_poll_served_by_the_same_worker_does_not_read_the_audit_trail(client: Client, actors: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    create_ticket(source="+6281255520001")
    login(client, actors["admin"])
    client.get(reverse("inbox:index"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
    table = AuditEvent._meta.db_table
    assert not [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def test_a_ticket_page_with_the_full_number_is_recorded(client: Client, actors: dict[str, Any]) -> None:
    ticket = create_ticket()
    login(client, actors["admin"])
    client.get(reverse("inbox:ticket", args=[ticket.pk]))
    client.get(reverse("inbox:ticket", args=[ticket.pk]), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
    [event] = viewed("inbox.ticket")
    assert event.changes["what"] == "ticket_full_number"


def test_masked_inbox_views_are_not_recorded(client: Client, actors: dict[str, Any]) -> None:
    from warta.accounts.permissions import has_capability

    create_ticket()
    user = next(a for a in actors.values()
                if not has_capability(a, "numbers.view_full") and login(Client(), a).get(reverse("inbox:index")).status_code == 200)
    assert user is not None
    assert viewed("inbox.ticket") == []
