"""Sign-off: draft → submitted → approved (TOTP) → archived; archived is immutable with its hash;
later data makes a marked revision; the command line; the pages and who may use them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from tests.conftest import confirm_totp, login, totp_now
from tests.reports.helpers import add_messages, create_blast, wib

OCT = dt.date(2026, 10, 1)
NIP = "197001011995031001"


@pytest.fixture
def october(actors: dict[str, Any], units: dict[str, Any]) -> Any:
    b = create_blast(author=actors["operator"], unit=units["bpbd"], at=wib(2026, 10, 5), title="Siaga banjir")
    add_messages(b, n=12, state="delivered", created=wib(2026, 10, 5), submitted=wib(2026, 10, 5, 9, 1))
    return b


def _narrate(report: Any, operator: Any) -> Any:
    from warta.reports import services

    return services.update_narrative(report, operator, highlights="Blast siaga banjir tepat waktu.",
                                     problems="Satu operator lambat.", recommendations="Tambah kanal.",
                                     public_summary="12 SMS peringatan banjir terkirim.")


@pytest.mark.django_db
def test_the_report_goes_from_draft_to_archive_with_totp_and_a_stored_hash(october: Any, actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.reports import services
    from warta.reports.models import MonthlyReport, ReportIsArchived

    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False) as clock:
        report = services.generate(OCT, actor=actors["operator"])
        assert report.state == "draft" and report.figures["summary"]["messages"] == 12
        with pytest.raises(services.ReportError, match="Lengkapi narasi"):
            services.submit(report, actors["operator"])
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
        assert report.state == "submitted"
        with pytest.raises(services.ReportError, match="TOTP"):
            services.approve(report, actors["approver"], token="000000", name="Budi Santoso", nip=NIP)
        clock.shift(60)  # past the one-time-password throttle that the wrong code set
        with pytest.raises(PermissionDenied):
            services.approve(report, actors["operator"], token=totp_now(device), name="x", nip=NIP)
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi Santoso", nip=NIP)
        assert report.state == "approved" and not report.late
        services.archive(report, actors["operator"])
    report.refresh_from_db()
    assert report.state == "archived"
    pdf, xlsx = services.files(report)
    assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    assert hashlib.sha256(xlsx).hexdigest() == report.xlsx_sha256
    assert services.verify_files(report) is True
    # Immutable: the model refuses, the services refuse.
    report.highlights = "diubah diam-diam"
    with pytest.raises(ReportIsArchived):
        report.save()
    with pytest.raises(ReportIsArchived):
        MonthlyReport.objects.get(pk=report.pk).delete()
    with pytest.raises(services.ReportError):
        services.update_narrative(MonthlyReport.objects.get(pk=report.pk), actors["operator"], highlights="x")
    actions = list(AuditEvent.objects.filter(object_type="reports.monthlyreport").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["reports.generated", "reports.narrative_edited", "reports.submitted", "reports.approved",
                       "reports.archived"]


@pytest.mark.django_db
def test_the_signed_pdf_carries_the_approver_name_and_nip(october: Any, actors: dict[str, Any], tmp_path: Any) -> None:
    import subprocess

    from warta.reports import services

    device = confirm_totp(actors["approver"])
    # 7 November 2026 is a Saturday: due Monday 9 November 23:59 WIB; signed on the 10th.
    with time_machine.travel(wib(2026, 11, 10, 10), tick=False):
        report = services.generate(OCT)
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi Santoso", nip=NIP)
    assert report.late
    path = tmp_path / "signed.pdf"
    path.write_bytes(services.files(report)[0])
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Budi Santoso" in text and f"NIP {NIP}" in text
    assert "setelah batas waktu" in text and "KONSEP" not in text
    assert "Blast siaga banjir tepat waktu." in text


@pytest.mark.django_db
def test_data_arriving_after_archive_makes_a_marked_revision(october: Any, actors: dict[str, Any]) -> None:
    from warta.reports import services

    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        report = services.generate(OCT)
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi", nip=NIP)
        services.archive(report, actors["approver"])
        assert services.check_revisions() == []  # nothing changed: no revision
    # A late batch of October messages (e.g. receipts settled after the archive).
    add_messages(october, n=3, state="delivered", created=wib(2026, 10, 30), submitted=wib(2026, 10, 30, 9))
    with time_machine.travel(wib(2026, 11, 20, 10), tick=False):
        (revision,) = services.check_revisions()
    assert revision.revision == 2 and revision.supersedes_id == report.pk and revision.state == "draft"
    assert revision.figures["summary"]["messages"] == 15
    assert "messages" in revision.revision_reason
    report.refresh_from_db()
    assert report.state == "archived" and report.figures["summary"]["messages"] == 12  # never overwritten
    assert services.current(OCT) == revision


@pytest.mark.django_db
def test_the_command_writes_pdf_and_xlsx_and_prints_figures_as_json(october: Any, tmp_path: Any, capsys: Any) -> None:
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        call_command("report", "monthly", "2026-10", "--out", str(tmp_path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["figures"]["summary"]["messages"] == 12
    assert Decimal(out["figures"]["summary"]["cost"]) == Decimal(350 * 12)
    assert open(out["files"]["pdf"], "rb").read(4) == b"%PDF"
    assert out["files"]["xlsx"].endswith("laporan-sms-center-2026-10.xlsx")
    assert out["report"]["state"] == "draft"


@pytest.mark.django_db
def test_the_command_refuses_a_month_that_has_not_ended(db: Any) -> None:
    from django.core.management.base import CommandError

    with time_machine.travel(wib(2026, 11, 3, 10), tick=False), pytest.raises(CommandError, match="belum selesai"):
        call_command("report", "monthly", "2026-11")
    with pytest.raises(CommandError, match="TTTT-BB"):
        call_command("report", "monthly", "November")


@pytest.mark.django_db
def test_liaisons_cannot_open_reports_and_the_public_archive_is_off_by_default(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["liaison"])
    assert client.get("/laporan/").status_code == 403
    client.logout()
    assert client.get("/laporan/arsip-publik/").status_code == 404


@pytest.mark.django_db
def test_an_operator_cannot_approve_through_the_page(client: Any, october: Any, actors: dict[str, Any]) -> None:
    from warta.reports import services

    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        report = services.generate(OCT)
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
    login(client, actors["operator"])
    response = client.post(f"/laporan/{report.pk}/setujui/", {"name": "x", "nip": NIP, "token": "123456"})
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.state == "submitted"


@pytest.mark.django_db
def test_a_published_month_shows_its_blasts_without_recipients(client: Any, october: Any, actors: dict[str, Any],
                                                               settings: Any) -> None:
    from warta.accounts.models import AuditEvent
    from warta.reports import services

    settings.WARTA = {**settings.WARTA, "REPORTS": {"PUBLIC_ARCHIVE": "1"}}
    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        report = services.generate(OCT)
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi", nip=NIP)
        services.archive(report, actors["approver"])
    assert "Siaga banjir" not in client.get("/laporan/arsip-publik/").content.decode()
    services.publish(report, actors["approver"])
    page = client.get("/laporan/arsip-publik/").content.decode()
    assert "12 SMS peringatan banjir terkirim." in page and october.text in page and "GubDKI" in page
    recipient = october.messages.first().to
    assert recipient not in page and recipient[3:] not in page
    assert AuditEvent.objects.filter(action="reports.published", object_id=str(report.pk)).exists()


@pytest.mark.django_db
def test_the_pages_render_for_the_roles_that_use_them(client: Any, october: Any, actors: dict[str, Any],
                                                      units: dict[str, Any]) -> None:
    from warta.reports.models import UnitBudget

    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        login(client, actors["operator"])
        response = client.post("/laporan/buat/", {"month": "2026-10"})
        assert response.status_code == 302
        detail = response["Location"]
        assert "Siaga banjir" in client.get(detail).content.decode()
        index = client.get("/laporan/").content.decode()
        assert "Oktober 2026" in index and "report-countdown" in index
        assert client.get(detail + "berkas.xlsx").status_code == 200
        assert client.get(detail + "berkas.exe").status_code == 404
        # An operator sees budgets but may not set them.
        assert client.get("/laporan/anggaran/").status_code == 200
        assert client.post("/laporan/anggaran/", {"unit": units["bpbd"].pk, "amount": "1000"}).status_code == 403
        client.logout()
        login(client, actors["approver"])
        assert client.post("/laporan/anggaran/", {"unit": units["bpbd"].pk, "amount": "100000", "month": ""}).status_code == 302
        assert UnitBudget.objects.get(unit=units["bpbd"]).amount == 100000
        assert "BPBD" in client.get("/laporan/anggaran/").content.decode()
        client.logout()
        login(client, actors["analyst"])
        assert client.get(detail).status_code == 200
        assert client.post("/laporan/buat/", {"month": "2026-10"}).status_code == 403


@pytest.mark.django_db
def test_the_approver_sends_back_with_a_reason_and_the_command_writes_the_archived_files(
        october: Any, actors: dict[str, Any], tmp_path: Any, capsys: Any) -> None:
    from warta.reports import services
    from warta.reports.models import ReportNotice

    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        report = services.generate(OCT)
        _narrate(report, actors["operator"])
        services.submit(report, actors["operator"])
        with pytest.raises(services.ReportError, match="alasan"):
            services.send_back(report, actors["approver"], "  ")
        services.send_back(report, actors["approver"], "Tambahkan angka per kota.")
        assert report.state == "draft"
        assert ReportNotice.objects.filter(user=actors["operator"], text__contains="per kota").exists()
        services.submit(report, actors["operator"])
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi", nip=NIP)
        services.archive(report, actors["approver"])
        call_command("report", "monthly", "2026-10", "--out", str(tmp_path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["report"]["state"] == "archived"
    pdf = open(out["files"]["pdf"], "rb").read()
    assert hashlib.sha256(pdf).hexdigest() == report.pdf_sha256 == out["report"]["pdf_sha256"]
