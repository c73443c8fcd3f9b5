"""Erasure reaches the reports: a citizen erased after the month was archived is no longer quoted
in any revision — figures, PDF or XLSX — while the counts stay and the archive's integrity
check still passes, with the redaction in the audit trail."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.conftest import confirm_totp, totp_now
from tests.reports.helpers import add_messages, create_blast, create_ticket, number, wib

OCT = dt.date(2026, 10, 1)
NIP = "197001011995031001"
QUOTE = "Got belakang rumah nomor tujuh meluap"
OTHER = "Air setinggi betis di Bidara Cina"


@pytest.fixture
def october(actors: dict[str, Any], units: dict[str, Any]) -> dict[str, Any]:
    blast = create_blast(author=actors["operator"], unit=units["bpbd"], at=wib(2026, 10, 5), title="Siaga banjir")
    add_messages(blast, n=5, state="delivered", created=wib(2026, 10, 5), submitted=wib(2026, 10, 5, 9, 1))
    citizen, other = number(), number("indosat")
    create_ticket(at=wib(2026, 10, 6, 8), text=QUOTE, topic="banjir", address=citizen)
    create_ticket(at=wib(2026, 10, 7, 8), text=OTHER, topic="banjir", address=other)
    return {"citizen": citizen, "other": other}


def _archive(actors: dict[str, Any]) -> Any:
    from warta.reports import services

    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        report = services.generate(OCT)
        services.update_narrative(report, actors["operator"], highlights="Siaga banjir.", problems="-",
                                  recommendations="-", public_summary="5 SMS.")
        services.submit(report, actors["operator"])
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi Santoso", nip=NIP)
        services.archive(report, actors["approver"])
    return report


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


@pytest.mark.django_db
def test_erasing_a_citizen_withdraws_their_quote_from_the_archived_report_and_its_files(
        october: dict[str, Any], actors: dict[str, Any], tmp_path: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    from openpyxl import load_workbook

    from warta.accounts.models import AuditEvent
    from warta.contacts import services as contacts
    from warta.reports import services
    from warta.reports.models import MonthlyReport

    report = _archive(actors)
    pdf_before, _xlsx = services.files(report)
    assert QUOTE in _pdf_text(pdf_before, tmp_path)  # the report quotes the citizen
    old_names = [report.pdf.name, report.xlsx.name]
    summary = dict(report.figures["summary"])

    with django_capture_on_commit_callbacks(execute=True):
        contacts.erase(october["citizen"])

    report = MonthlyReport.objects.get(pk=report.pk)
    assert report.state == "archived"
    assert QUOTE not in str(report.figures) and report.figures["summary"] == summary  # counts stay
    examples = [e for t in report.figures["inbound"]["top_issues"] for e in t["examples"]]
    assert {e["text"] for e in examples} == {services.REDACTED_QUOTE, OTHER}  # only that citizen's quote
    pdf, xlsx = services.files(report)
    text = _pdf_text(pdf, tmp_path)
    assert QUOTE not in text and OTHER in text and "Budi Santoso" in text  # still the signed report
    xlsx_path = tmp_path / "r.xlsx"
    xlsx_path.write_bytes(xlsx)
    cells = " ".join(str(c) for ws in load_workbook(xlsx_path).worksheets for row in ws.iter_rows(values_only=True)
                     for c in row if c is not None)
    assert QUOTE not in cells and OTHER in cells
    # The archive's integrity check passes on the new files, and the old files are gone.
    assert services.verify_files(report) is True
    storage = report.pdf.storage
    assert not any(storage.exists(name) for name in old_names)
    # The redaction is in the audit trail with both hashes, never with the words or the number.
    (event,) = AuditEvent.objects.filter(action="reports.redacted")
    assert event.changes["quotes"] == 1 and event.changes["reason"] == "erasure"
    assert event.changes["pdf_sha256"][1] == report.pdf_sha256 != event.changes["pdf_sha256"][0]
    assert QUOTE not in str(event.changes) and october["citizen"][3:] not in str(event.changes)


@pytest.mark.django_db
def test_erasure_reaches_a_draft_and_leaves_reports_that_never_quoted_the_person(
        october: dict[str, Any], actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.contacts import services as contacts
    from warta.reports import services
    from warta.reports.models import MonthlyReport

    with time_machine.travel(wib(2026, 11, 3, 10), tick=False):
        draft = services.generate(OCT)
    assert QUOTE in str(draft.figures)
    contacts.erase(number())  # somebody never quoted: nothing changes
    assert not AuditEvent.objects.filter(action="reports.redacted").exists()
    contacts.erase(october["citizen"])
    draft = MonthlyReport.objects.get(pk=draft.pk)
    assert QUOTE not in str(draft.figures) and services.REDACTED_QUOTE in str(draft.figures)
    assert draft.figures_hash == services._hash(services._figures_for_hash(draft.figures))
    assert not draft.pdf  # a draft has no stored files; they are rendered from these figures
