"""The ticket page: each staff reply once in the timeline, with what became of the SMS."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login
from warta.inbox import services

pytestmark = pytest.mark.django_db


def test_each_staff_reply_shows_once_with_its_delivery_state(client, actors, ticket):
    from django.utils import timezone

    from warta.blasts.models import OutboundMessage

    msg = services.reply(ticket, "Petugas kebersihan dijadwalkan besok pagi.", actor=actors["operator"])
    OutboundMessage.objects.filter(pk=msg.outbox_id).update(
        state=OutboundMessage.State.DELIVERED, submitted_at=timezone.now(), done_at=timezone.now())
    login(client, actors["operator"])
    page = client.get(reverse("inbox:ticket", args=[ticket.pk])).content.decode()
    assert page.count("Petugas kebersihan dijadwalkan besok pagi.") == 1
    assert page.count("balasan dikirim") == 0  # the history event is folded into the message
    timeline = page[page.index('class="timeline"'):]
    reply = timeline[timeline.index('data-disposition="reply"'):]
    assert "terkirim" in reply[:reply.index("</li>")]


def test_status_changes_in_the_timeline_use_labels_not_codes(client, actors, ticket):
    services.set_status(ticket, "koordinasi", actor=actors["operator"])
    login(client, actors["operator"])
    page = client.get(reverse("inbox:ticket", args=[ticket.pk])).content.decode()
    assert "Menunggu → Koordinasi" in page and "menunggu → koordinasi" not in page
