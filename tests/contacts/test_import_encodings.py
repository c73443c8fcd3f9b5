"""Encodings: UTF-16 (Excel's "Unicode text") is read by its BOM; what cannot be decoded is refused
with a message that says how to save the file, instead of being silently misread."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from warta.contacts import imports
from warta.contacts.models import Contact

from .conftest import import_file, write

pytestmark = pytest.mark.django_db

TABLE = "nama\tponsel\nSiti Nurhaliza\t081211112222\nJosé Ramírez\t081233334444\n"


@pytest.mark.parametrize(("bom", "codec"), [
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"", "utf-16-le"),  # no BOM: recognised by its NUL bytes
    (codecs.BOM_UTF32_LE, "utf-32-le"),
])
def test_utf16_and_utf32_files_are_read_correctly(tmp_path: Path, bom: bytes, codec: str) -> None:
    job = import_file(write(tmp_path, "unicode.txt", bom + TABLE.encode(codec)))
    assert job.created == 2
    assert Contact.objects.get(e164="+6281233334444").name == "José Ramírez"


def test_windows_1252_is_still_read(tmp_path: Path) -> None:
    job = import_file(write(tmp_path, "ansi.csv", "nama;hp\nAndré “Ucok”;081211112222\n".encode("cp1252")))
    assert job.created == 1 and Contact.objects.get().name == "André “Ucok”"


@pytest.mark.parametrize("content", [
    "山田太郎,09012345678\n佐藤花子,08123456789\nカタカナ,08129876543\n".encode("shift_jis"),
    b"\x00\x01\x02\x03PK\x00\x00binary\xff\x00\x10",
])
def test_an_undecodable_file_is_refused_clearly(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "aneh.csv", content)
    with pytest.raises(imports.ImportRefused) as refused:
        imports.create_job(str(path), path.name, path.stat().st_size)
    assert "Encoding berkas tidak dikenali" in str(refused.value) and "CSV UTF-8" in str(refused.value)
    assert not path.exists()
