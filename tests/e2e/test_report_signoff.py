"""Done-when for the monthly report, in Chromium: the operator makes last month's draft, writes
the narrative and submits it; the Kepala Dinas (TOTP at login, and again to sign) approves it
with name and NIP; it is archived and its file hash is shown; the signed PDF downloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import PASSWORD, confirm_totp, create_unit, create_user, totp_now
from tests.reports.helpers import WIB, add_messages, create_blast

NIP = "197001011995031001"


def sign_in(browser: Any, live_server: Any, username: str, device: Any = None) -> Any:
    context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta",
                                  accept_downloads=True)
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if device is not None:
        page.wait_for_selector("input[name=token]")
        page.fill("input[name=token]", totp_now(device))
        page.click("main form button[type=submit]")
    page.wait_for_selector("ul.areas")
    return page


@pytest.mark.e2e
def test_the_monthly_report_is_drafted_signed_with_totp_and_archived(browser: Any, live_server: Any,
                                                                     settings: Any, tmp_path: Any) -> None:
    from warta.reports.figures import month_label, previous_month
    from warta.reports.models import MonthlyReport

    settings.MEDIA_ROOT = tmp_path / "media"
    kominfo = create_unit("diskominfotik", "Diskominfotik", kind="dinas")
    bpbd = create_unit("bpbd", "BPBD")
    operator = create_user("operator", kominfo, "operator")
    approver = create_user("approver", kominfo, "penyetuju", first_name="Budi", last_name="Santoso")
    device = confirm_totp(approver)
    today = dt.datetime.now(tz=WIB)
    month = previous_month(today.date().replace(day=1))
    at = dt.datetime.combine(month.replace(day=10), dt.time(9), tzinfo=WIB)
    blast = create_blast(author=operator, unit=bpbd, at=at, title="Siaga banjir")
    add_messages(blast, n=25, state="delivered", created=at, submitted=at + dt.timedelta(minutes=1))

    # The operator: the home page counts down; make the draft, narrate, submit.
    page = sign_in(browser, live_server, "operator")
    assert month_label(month) in page.inner_text("#report-countdown")
    page.click("a[data-area=reports]")
    page.click("text=Buat / perbarui konsep")
    page.wait_for_selector("#narrative-form")
    assert page.inner_text("#report-state") == "Konsep"
    page.fill("textarea[name=highlights]", "Peringatan banjir terkirim ke 25 warga.")
    page.fill("textarea[name=problems]", "Tidak ada kendala berarti.")
    page.fill("textarea[name=recommendations]", "Perluas daftar penerima di Jakarta Timur.")
    page.click("#narrative-form button[type=submit]")
    page.wait_for_selector("text=Narasi disimpan.")
    page.click("#submit-report")
    page.wait_for_selector("text=Laporan diajukan kepada penyetuju.")
    assert page.inner_text("#report-state") == "Diajukan"
    report = MonthlyReport.objects.get(month=month)
    page.context.close()

    # The approver: TOTP at login, and a fresh code again to sign.
    page = sign_in(browser, live_server, "penyetuju", device)
    page.goto(f"/laporan/{report.pk}/")
    page.fill("#approve-form input[name=token]", "000000")
    page.fill("#approve-form input[name=nip]", NIP)
    page.click("#approve-form button[type=submit]")
    page.wait_for_selector("text=Kode TOTP salah")
    assert page.inner_text("#report-state") == "Diajukan"
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above set the throttle; a person waits it out
    device.throttling_failure_timestamp = None
    device.save()
    page.fill("#approve-form input[name=token]", totp_now(device, offset=1))
    page.fill("#approve-form input[name=nip]", NIP)
    page.click("#approve-form button[type=submit]")
    page.wait_for_selector("text=Laporan disetujui dan ditandatangani.")
    assert page.inner_text("#report-state") == "Disetujui"
    assert f"NIP {NIP}" in page.content()
    page.click("#archive-report")
    page.wait_for_selector("#report-hash")
    report.refresh_from_db()
    assert page.inner_text("#report-state") == "Diarsipkan"
    assert report.pdf_sha256 in page.inner_text("#report-hash")
    assert "Berkas cocok dengan hash yang tersimpan." in page.inner_text("#report-hash")
    with page.expect_download() as download:
        page.click("text=PDF")
    path = download.value.path()
    assert open(path, "rb").read(4) == b"%PDF"
    import hashlib

    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == report.pdf_sha256
    page.context.close()
