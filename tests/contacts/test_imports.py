from __future__ import annotations

import pytest

from warta.contacts.models import Contact, ImportReject

from .conftest import import_file, write

pytestmark = pytest.mark.django_db


def test_it_imports_utf8_with_bom_and_semicolons(tmp_path):
    path = write(tmp_path, "a.csv", "\ufeffNama;No HP;Wilayah\nSiti Aminah;0812-1111-2222;Gambir\nBudi;+62 813 3333 4444;31.71.01\n")
    job = import_file(path)
    assert (job.state, job.created, job.rejected) == ("done", 2, 0)
    siti = Contact.objects.get(e164="+6281211112222")
    assert siti.name == "Siti Aminah" and siti.operator == "telkomsel" and siti.region.name == "Gambir"


def test_it_reads_latin1_tabs_and_quoted_newlines(tmp_path):
    content = 'nama\tponsel\tlabel\n"José\nRT 05"\t081211112222\t"warga, rt05"\nAndré\t081233334444\t\n'
    job = import_file(write(tmp_path, "b.csv", content, encoding="latin-1"))
    assert job.created == 2
    jose = Contact.objects.get(e164="+6281211112222")
    assert jose.name == "José\nRT 05" and jose.tag_list == ["rt05", "warga"]


def test_it_reports_bad_rows_with_line_numbers_and_goes_on(tmp_path):
    content = "nama,hp\n\"Dua\nbaris\",081211112222\nA,bukan nomor\nB,021-3288-1818\nC,081211112222\nD,081299998888\n"
    job = import_file(write(tmp_path, "c.csv", content))
    assert job.created == 2
    assert job.rejected_by_reason == {"invalid_number": 1, "not_mobile": 1, "duplicate": 1}
    lines = list(ImportReject.objects.filter(job=job).values_list("line", "reason"))
    assert lines == [(4, "invalid_number"), (5, "not_mobile"), (6, "duplicate")]


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write(tmp_path, "d.csv", "nama,hp,label\nA,081211112222,x\nB,081233334444,y\n")
    import_file(path)
    before = list(Contact.objects.values())
    again = import_file(write(tmp_path, "d2.csv", path.read_text()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert list(Contact.objects.values()) == before


def _xlsx(path, rows):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_it_imports_xlsx_with_numeric_cells(tmp_path):
    path = _xlsx(tmp_path / "k.xlsx", [["Nama", "Nomor HP"], ["Ani", 6281211112222], ["Ina", "0813-3333-4444"], ["X", 12]])
    job = import_file(path)
    assert (job.created, job.rejected_by_reason) == (2, {"invalid_number": 1})
    assert ImportReject.objects.get(job=job).line == 4


def test_an_xlsx_bomb_is_refused_before_opening(tmp_path, settings):
    import zipfile

    from warta.contacts import imports

    path = tmp_path / "bom.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * 50_000_000 + b">")
    with pytest.raises(imports.ImportRefused, match="zip bomb"):
        imports.create_job(str(path), path.name, path.stat().st_size)
    assert not path.exists()


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(tmp_path, settings):
    from warta.contacts import imports

    settings.WARTA_IMPORT_MAX_BYTES = 1024
    path = write(tmp_path, "besar.csv", "hp\n" + "081211112222\n" * 200)
    with pytest.raises(imports.ImportRefused, match="terlalu besar"):
        imports.create_job(str(path), path.name, path.stat().st_size)


def test_a_dry_run_counts_every_reason_and_writes_no_contact(tmp_path):
    from warta.contacts import services

    services.opt_out("+6281299990000", "sms")
    content = ("nama,hp,kelurahan\nA,081211112222,Gambir\nB,abc,Gambir\nC,0215550000,Gambir\n"
               "D,081211112222,Gambir\nE,081299990000,Gambir\nF,081233334444,Atlantis\n")
    job = import_file(write(tmp_path, "e.csv", content), dry_run=True)
    assert job.state == "checked"
    assert job.created == 2  # F's kelurahan is unknown: imported without a region, with a warning
    assert job.rejected_by_reason == {"invalid_number": 1, "not_mobile": 1, "duplicate": 1, "opted_out": 1}
    assert job.dry_run_report["rejected"] == 4
    assert job.dry_run_report["warnings"] == {"unknown_region": 1}
    assert not Contact.objects.exists()
    from warta.contacts.imports import rejects_rows

    rows = list(rejects_rows(job, dry_run=True))
    assert [r[0] for r in rows] == [3, 4, 5, 6, 7]
    assert rows[-1][2] == "unknown_region" and "Diimpor tanpa wilayah" in rows[-1][4]


def test_a_valid_number_with_an_unknown_kelurahan_is_imported_without_a_region_and_warned(tmp_path):
    content = "nama,hp,kelurahan\nA,081211112222,Gambir\nF,081233334444,Kelurahan Atlantis\n"
    job = import_file(write(tmp_path, "w.csv", content))
    assert job.state == "done" and job.created == 2 and job.rejected == 0
    assert job.warnings == {"unknown_region": 1}
    assert Contact.objects.get(e164="+6281233334444").region_id is None
    assert Contact.objects.get(e164="+6281211112222").region_id is not None


def test_a_malformed_row_is_reported_and_the_rest_imported(tmp_path):
    content = "nama,hp\nA,081211112222\n\"" + "x" * 70_000 + "\",081233334444\nB,081255556666\n"
    job = import_file(write(tmp_path, "f.csv", content))
    assert job.created == 2
    assert job.rejected_by_reason == {"malformed_row": 1}
    assert ImportReject.objects.get(job=job).line == 3


class Crash(BaseException):
    """Stands for the worker being killed: not an Exception, so nothing catches it."""


def test_an_import_killed_mid_way_resumes_from_its_checkpoint(tmp_path, settings, monkeypatch):
    from warta.contacts import imports

    settings.WARTA_IMPORT_BATCH = 10
    numbers = [f"0812{10000000 + i:08d}" for i in range(45)] + ["salah"] * 5
    path = write(tmp_path, "g.csv", "hp,nama\n" + "".join(f"{n},Warga {i}\n" for i, n in enumerate(numbers)))
    job = imports.create_job(str(path), path.name, path.stat().st_size)
    imports.start(job, dry_run=False, enqueue=False)
    batches = []

    def crash_after_two(job):
        batches.append(job.processed_rows)
        if len(batches) == 2:
            raise Crash

    monkeypatch.setattr(imports, "after_batch_committed", crash_after_two)
    with pytest.raises(Crash):
        imports.execute(job.pk)
    job.refresh_from_db()
    assert (job.state, job.processed_rows, Contact.objects.count()) == ("running", 20, 20)

    monkeypatch.setattr(imports, "after_batch_committed", lambda job: None)
    imports.resume(job, enqueue=False)
    imports.execute(job.pk)
    job.refresh_from_db()
    assert (job.state, job.processed_rows, job.created, job.rejected) == ("done", 50, 45, 5)
    assert Contact.objects.count() == 45


def test_a_running_import_is_not_claimed_twice(tmp_path):
    from warta.contacts import imports

    path = write(tmp_path, "h.csv", "hp\n081211112222\n")
    job = imports.create_job(str(path), path.name, path.stat().st_size)
    imports.start(job, dry_run=False, enqueue=False)
    assert imports.claim(job.pk) is not None
    assert imports.claim(job.pk) is None


def test_the_import_group_gets_every_accepted_contact_once(tmp_path):
    from .conftest import create_group

    group = create_group("Warga Gambir")
    path = write(tmp_path, "i.csv", "hp\n081211112222\n081233334444\n")
    import_file(path, group=group)
    import_file(write(tmp_path, "i2.csv", path.read_text()), group=group)
    assert group.memberships.count() == 2


def test_the_cli_imports_with_json_output(tmp_path, capsys):
    import json

    from django.core.management import call_command

    path = write(tmp_path, "j.csv", "nama;hp\nA;081211112222\nB;000\n")
    call_command("contacts", "import", str(path), "--dry-run", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["dry_run"], report["created"], report["rejected_by_reason"]) == (True, 1, {"invalid_number": 1})
    assert not Contact.objects.exists()
    call_command("contacts", "import", str(path), "--group", "Relawan", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["created"] == 1
    assert Contact.objects.get().groups.get().name == "Relawan"


def test_the_import_report_page_shows_labels_and_the_region_warning(tmp_path, client, actors):
    from django.urls import reverse

    from tests.conftest import login

    content = "nama,hp,kelurahan\nA,081211112222,Gambir\nB,abc,Gambir\nF,081233334444,Atlantis\n"
    job = import_file(write(tmp_path, "r.csv", content), dry_run=True)
    login(client, actors["operator"])
    page = client.get(reverse("contacts:import_job", args=[job.pk])).content.decode()
    assert "Nomor tidak valid" in page and "invalid_number" not in page
    assert 'data-testid="import-warning"' in page and "diimpor tanpa wilayah" in page
