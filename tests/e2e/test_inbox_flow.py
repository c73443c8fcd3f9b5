"""Done-when for the citizen inbox, in Chromium, against the real simulator and engine.

A citizen's SMS is injected into the SMSC simulator; the delivery engine receives it on its bind
(``gateway.InboundMessage``), the inbox takes it (``intake_gateway``, what ``warta inbox run``
does), the operator sees it appear without a reload and forwards it to BPBD, BPBD's liaison
answers and closes it; the acknowledgement, the answer and the STATUS reply all reach the
simulator as submit_sm.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import PASSWORD

# The engine's database thread needs a database other connections can see: a file, not
# pytest-django's in-memory SQLite (tests/gateway/conftest.py does the same for its tests).
_db = settings.DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3" and not str(_db.get("TEST", {}).get("NAME") or "").endswith(".sqlite3"):
    _db.setdefault("TEST", {})["NAME"] = os.path.join(tempfile.mkdtemp(prefix="warta-e2e-inbox-"), "test.sqlite3")

CITIZEN = "+6281234567890"


class Gateway:
    """The simulator and an engine in one event loop on a thread, plus the inbox's intake loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.rig: Any = None
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        from tests.gateway.engine_harness import Rig

        ready = threading.Event()

        async def main() -> None:
            self.rig = Rig(receipt_delay=0.05, tcp=True)  # the real simulator over 127.0.0.1
            await self.rig.__aenter__()
            ready.set()
            while not self.stopping.is_set():
                await asyncio.sleep(0.05)
            await self.rig.__aexit__(None, None, None)

        self.threads.append(threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True))
        self.threads.append(threading.Thread(target=self._intake, daemon=True))
        self.threads[0].start()
        assert ready.wait(20), "simulator and engine did not start"
        self.threads[1].start()

    def _intake(self) -> None:
        from django.db import connection

        from warta.inbox import ingest

        while not self.stopping.is_set():
            try:
                ingest.intake_gateway()
            finally:
                connection.close()
            time.sleep(0.2)

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(20)

    def inject(self, text: str, source: str = CITIZEN) -> None:
        self.loop.call_soon_threadsafe(self.rig.sim.inject_mo, source, "02132881818", text)

    def texts_to(self, number: str) -> list[str]:
        from warta.sms.gsm import decode_gsm7

        return [decode_gsm7(bytes.fromhex(r["short_message"])) for r in list(self.rig.sim.log.records)
                if r.get("command") == "submit_sm" and r.get("destination_addr", "").lstrip("+") == number.lstrip("+")]

    def wait_for_text(self, number: str, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.texts_to(number):
                if needle in text:
                    return text
            time.sleep(0.1)
        raise AssertionError(f"no SMS to {number} containing {needle!r}; got {self.texts_to(number)}")


@pytest.fixture
def gateway(transactional_db: Any) -> Any:
    gw = Gateway()
    gw.start()
    yield gw
    gw.stop()


def sign_in(page: Any, username: str) -> None:
    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.areas")


def test_citizen_message_to_answer_and_status(page: Any, browser: Any, live_server: Any, actors: dict[str, Any],
                                               units: dict[str, Any], gateway: Gateway) -> None:
    from warta.inbox.models import Ticket

    sign_in(page, "operator")
    page.goto("/kotak-masuk/")
    gateway.inject("Banjir 50 cm di Jl. Kenanga RT 05, mohon bantuan")
    # Appears without a reload (htmx polls the rows every 5 s).
    row = page.locator("tbody#rows tr[data-ticket]")
    row.first.wait_for(timeout=20000)
    ticket = Ticket.objects.get()
    assert "Banjir 50 cm" in row.first.inner_text()
    ack = gateway.wait_for_text(CITIZEN, f"tiket {ticket.number}")
    assert f"STATUS {ticket.number}" in ack

    # The operator forwards it to BPBD.
    page.click(f"a[href='/kotak-masuk/tiket/{ticket.pk}/']")
    page.select_option("form[action$='/teruskan'] select[name=unit]", label="BPBD")
    page.click("form[action$='/teruskan'] button[type=submit]")
    page.wait_for_selector("[data-testid=status]:has-text('Disposisi')")

    # BPBD's liaison answers and closes it.
    liaison = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta")
    lpage = liaison.new_page()
    sign_in(lpage, "penghubung")
    lpage.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    lpage.fill("form[action$='/balas'] textarea[name=text]", "Tim BPBD sudah di lokasi, pompa dikerahkan.")
    lpage.check("form[action$='/balas'] input[name=close]")
    lpage.click("form[action$='/balas'] button[type=submit]")
    lpage.wait_for_selector("[data-testid=status]:has-text('Selesai')")
    liaison.close()
    gateway.wait_for_text(CITIZEN, "Tim BPBD sudah di lokasi")
    ticket.refresh_from_db()
    assert ticket.status == "selesai"

    # STATUS by SMS answers with the ticket's status.
    gateway.inject(f"STATUS {ticket.number}")
    gateway.wait_for_text(CITIZEN, f"Tiket {ticket.number}: Selesai.")
