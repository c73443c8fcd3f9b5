"""Imports refuse absurd files quickly and in bounded memory, and leave nothing behind."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import login
from warta.contacts import imports
from warta.contacts.models import Contact, ImportJob, ImportReject

from .conftest import import_file, write

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def upload(client: Any, name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("contacts:imports"), {"file": SimpleUploadedFile(name, content)})


def test_a_one_line_10_mib_csv_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path, "satu-baris.csv", "a," * (5 * 1024 * 1024))  # 10 MiB, 5 million columns
    tracemalloc.start()
    try:
        with pytest.raises(imports.ImportRefused) as refused:
            imports.create_job(str(path), path.name, path.stat().st_size)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "karakter" in str(refused.value) and "tabel kontak" in str(refused.value)
    assert peak < 8 * 1024 * 1024  # the line is never held whole, let alone split
    assert not path.exists() and ImportJob.objects.count() == 0


def test_a_header_with_absurdly_many_columns_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "lebar.csv", ",".join(f"k{i}" for i in range(500)) + "\n0812111122223" + "," * 499 + "\n")
    with pytest.raises(imports.ImportRefused) as refused:
        imports.create_job(str(path), path.name, path.stat().st_size)
    assert "500 kolom" in str(refused.value) and "200" in str(refused.value)


def test_an_overlong_line_inside_a_file_is_reported_and_the_rest_imported(tmp_path: Path, settings: Any) -> None:
    settings.WARTA_IMPORT_MAX_LINE_CHARS = 1000
    content = "nama,hp\nA,081211112222\nB," + "9" * 5000 + "\nC,081233334444\n"
    job = import_file(write(tmp_path, "panjang.csv", content))
    assert job.created == 2 and Contact.objects.count() == 2
    reject = ImportReject.objects.get(job=job)
    assert reject.line == 3 and reject.reason == "malformed_row" and "1.000 karakter" in reject.detail


def test_the_upload_page_refuses_a_huge_line_without_keeping_the_file(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    response = upload(client, "bom.csv", b"x;" * (1024 * 1024))
    assert response.status_code == 200
    assert "tabel kontak" in response.content.decode()
    assert stored_files() == [] and ImportJob.objects.count() == 0


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [
    _zip({"hello.txt": b"bukan excel"}),  # a zip, but no workbook inside
    _zip({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<<<"}),  # broken XML
])
def test_a_malformed_xlsx_is_refused_clearly_and_removed(client: Any, actors: dict[str, Any], content: bytes) -> None:
    login(client, actors["operator"])
    response = upload(client, "rusak.xlsx", content)
    assert response.status_code == 200
    assert "rusak atau tidak lengkap" in response.content.decode()
    assert stored_files() == []


def test_an_xlsx_row_past_the_column_limit_is_refused(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.cell(row=1, column=1, value="hp")
    sheet.cell(row=1, column=300, value="jauh")
    path = tmp_path / "lebar.xlsx"
    workbook.save(path)
    with pytest.raises(imports.ImportRefused) as refused:
        imports.create_job(str(path), path.name, path.stat().st_size)
    assert "300 kolom" in str(refused.value) and "200" in str(refused.value)
