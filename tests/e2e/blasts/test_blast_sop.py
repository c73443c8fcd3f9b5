"""The SOP end to end in Chromium: a unit liaison hands in materi → an operator drafts an SMS
under GubDKI → the verifier and the Kepala Dinas (TOTP) approve → the blast goes through the
delivery engine to the SMSC simulator → the console reaches 100% with receipts → the unit sees
the figures. And: an approved blast cannot be changed without new approval.

The engine and the simulator run in a thread of their own with their own event loop (the
gateway's test harness), against the live server's database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PASSWORD, confirm_totp, totp_now

N_RECIPIENTS = 5


def sign_in(browser: Any, live_server: Any, username: str, totp_device: Any = None) -> Any:
    context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if totp_device is not None:
        page.wait_for_selector("input[name=token]")
        page.fill("input[name=token]", totp_now(totp_device))
        page.click("main form button[type=submit]")
    page.wait_for_selector("ul.areas")
    return page


@pytest.fixture
def engine(transactional_db: Any, live_server: Any) -> Iterator[Any]:
    """A running SMSC simulator + a connection to it + a delivery engine (tests/gateway harness)."""
    from tests.gateway.engine_harness import Rig

    ready = threading.Event()
    stop = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with Rig(receipt_delay=0.05, tcp=True) as rig:  # the real simulator over 127.0.0.1
                box["rig"] = rig
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # surfaced to the test below
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(30), "engine did not start"
    if "error" in box:
        raise box["error"]
    yield box["rig"]
    stop.set()
    thread.join(30)


@pytest.fixture
def sop_world(actors: dict[str, Any], settings: Any) -> dict[str, Any]:
    from tests.blasts.helpers import create_group_with, create_sender

    # The walk must not depend on the hour the suite runs at; quiet hours have their own tests.
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
    create_sender("GubDKI")
    group = create_group_with(N_RECIPIENTS)
    group.name = "Warga Kampung Melayu"
    group.save()
    return {"group": group, "device": confirm_totp(actors["approver"])}


def test_the_whole_sop_in_a_browser(browser: Any, live_server: Any, actors: dict[str, Any],
                                    sop_world: dict[str, Any], engine: Any) -> None:
    # 1. The BPBD liaison hands in materi.
    liaison = sign_in(browser, live_server, "penghubung")
    liaison.goto("/blast/materi/baru/")
    liaison.fill("input[name=title]", "Peringatan dini banjir Ciliwung")
    liaison.fill("textarea[name=content]", "Katulampa siaga 3 pukul 10.00; warga bantaran Ciliwung waspada.")
    liaison.fill("input[name=contact_person]", "Budi, Pusdalops BPBD")
    liaison.click("#materi-form button[type=submit]")
    assert liaison.inner_text("#materi-status") == "Diterima"
    materi_url = liaison.url

    # 2. The operator takes it from the queue and drafts under GubDKI, watching the counters.
    op = sign_in(browser, live_server, "operator")
    op.goto("/blast/materi/")
    op.click("#materi-queue >> text=Peringatan dini banjir Ciliwung")
    op.click("#make-draft")
    op.select_option("select[name=sender]", label="GubDKI")
    op.fill("textarea[name=text]", "")
    op.type("textarea[name=text]", "Waspada banjir’ Ciliwung", delay=5)
    op.wait_for_selector("#c-forcing mark")
    assert op.inner_text("#c-encoding") == "UCS-2"
    op.click("#c-forcing button.replace")  # one click: ’ → '
    op.wait_for_function("document.querySelector('#c-encoding').innerText === 'GSM-7'")
    op.type("textarea[name=text]", ". Siaga 3 Katulampa, {nama} harap mengungsi bila air naik. Info 112.", delay=2)
    op.wait_for_function("document.querySelector('#preview-text').innerText.includes('Warga harap')")
    assert op.inner_text("#preview-sender") == "GubDKI"
    op.select_option("select[name=groups]", label="Warga Kampung Melayu")
    op.wait_for_function(f"document.querySelector('#a-deliverable')?.innerText === '{N_RECIPIENTS}'")
    op.click("#save-draft")
    op.click("#submit-draft")
    assert op.get_attribute("#draft-state", "data-state") == "review"
    draft_url = op.url

    # 3. The verifier approves; the operator (author) cannot.
    assert op.locator("#decide").count() == 0
    ver = sign_in(browser, live_server, "verifikator")
    ver.goto("/blast/persetujuan/")
    ver.click("#approval-queue >> text=Peringatan dini banjir Ciliwung")
    ver.fill("textarea[name=comment]", "Sesuai materi BPBD.")
    ver.click("#approve")
    assert ver.get_attribute("#draft-state", "data-state") == "review"

    # 4. The Kepala Dinas (TOTP) approves: the blast is released into the outbox.
    head = sign_in(browser, live_server, "penyetuju", totp_device=sop_world["device"])
    head.goto(draft_url)
    head.click("#approve")
    assert head.get_attribute("#draft-state", "data-state") == "released"

    # 5. The console reaches 100% with receipts from the simulator.
    op.goto(draft_url)
    op.click("#open-console")
    op.wait_for_selector("#progress-body[data-percent='100']", timeout=60000)
    op.wait_for_function(f"document.querySelector('#t-delivered').innerText === '{N_RECIPIENTS}'", timeout=30000)
    submits = engine.submits()
    assert len(submits) == N_RECIPIENTS  # one segment each, one blast: no second blast
    assert {s["source_addr"] for s in submits} == {"GubDKI"}
    assert {s["data_coding"] for s in submits} == {0}  # GSM-7 after the one-click replacement
    assert all(b"harap mengungsi" in bytes.fromhex(s["short_message"]) for s in submits)

    # 6. The unit sees the figures of the blast made from its materi.
    liaison.goto(materi_url)
    assert liaison.inner_text("#materi-status") == "Terkirim"
    assert liaison.inner_text("#materi-figures td.delivered") == str(N_RECIPIENTS)


def test_an_approved_blast_cannot_be_changed_without_new_approval(page: Any, browser: Any, live_server: Any,
                                                                    actors: dict[str, Any], settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tests.blasts.helpers import create_draft
    from warta.blasts import services

    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
    d = create_draft(actors["operator"], sender="HumasDKI", send_at=timezone.now() + timedelta(days=1))
    services.submit_for_review(d, actors["operator"])
    d = services.approve(d, actors["verifier"])
    assert d.state == "approved"

    op = sign_in(browser, live_server, "operator")
    op.goto(f"/blast/naskah/{d.pk}/")
    op.click("#edit-draft")
    assert op.locator("#reapproval-warning").is_visible()
    op.type("textarea[name=text]", " Tetap tenang.")
    op.click("#save-draft")
    assert op.get_attribute("#draft-state", "data-state") == "draft"
    assert "menunggu" in op.inner_text("#chain")
    d.refresh_from_db()
    assert d.state == "draft" and d.approved_hash == ""
    assert services.release_due(now=timezone.now() + timedelta(days=2)) == []
