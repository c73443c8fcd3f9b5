"""#12 item 1 in Chromium, through the simulator and the engine: a citizen who texts BERHENTI
gets the confirmation, and an officer's later reply to the citizen's ticket still reaches the
handset; a blast to that number does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_inbox_flow import CITIZEN, Gateway, sign_in


@pytest.fixture
def sms(transactional_db: Any) -> Iterator[Gateway]:
    gw = Gateway()
    gw.start()
    yield gw
    gw.stop()


def test_berhenti_is_confirmed_and_a_staff_reply_still_reaches_the_citizen(
        page: Any, actors: dict[str, Any], sms: Gateway) -> None:
    gateway = sms
    from warta.blasts.models import OutboundMessage
    from warta.contacts.services import is_suppressed
    from warta.inbox.models import Ticket

    gateway.inject("Lampu PJU mati di Jl. Kenanga RT 05 sejak kemarin")
    gateway.wait_for_text(CITIZEN, "tiket")
    ticket = Ticket.objects.get()

    gateway.inject("BERHENTI")
    confirmation = gateway.wait_for_text(CITIZEN, "berhenti")
    assert CITIZEN in is_suppressed([CITIZEN])
    assert "berhenti" in confirmation.lower()

    # A blast to the number is suppressed …
    from warta.blasts import outbox

    # (the long number is a sender ID since the inbox's first answer)
    blast, _summary = outbox.create_blast(sender="02132881818", text="Info vaksinasi gratis di puskesmas",
                                          recipients=[CITIZEN])

    # … while the operator's reply to the citizen's ticket is delivered.
    sign_in(page, "operator")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    page.fill("form[action$='/balas'] textarea[name=text]", "Petugas sudah memperbaiki lampu PJU hari ini.")
    page.click("form[action$='/balas'] button[type=submit]")
    page.wait_for_selector("text=Petugas sudah memperbaiki lampu PJU hari ini.")
    gateway.wait_for_text(CITIZEN, "Petugas sudah memperbaiki lampu PJU")

    import time

    deadline = time.monotonic() + 20
    while OutboundMessage.objects.get(blast=blast).state != "suppressed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert OutboundMessage.objects.get(blast=blast).state == "suppressed"
    assert not any("vaksinasi" in t for t in gateway.texts_to(CITIZEN))
    reply = OutboundMessage.objects.filter(to=CITIZEN, state__in=["submitted", "delivered"], blast__priority=5)
    assert reply.count() >= 3  # acknowledgement, confirmation, reply
