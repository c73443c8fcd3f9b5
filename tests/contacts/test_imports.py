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
