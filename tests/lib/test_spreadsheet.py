"""CSV exports stay inert when a spreadsheet splits cells on ";" or "," (Indonesian Excel)."""

from __future__ import annotations

import csv
import io

import pytest

from warta.lib.spreadsheet import csv_text, neutralise

TRIGGERS = "=+-@\t\r"


def _cells_as_a_semicolon_reader_sees_them(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") for cell in row]


def _cells_as_a_naive_splitter_sees_them(text: str) -> list[str]:
    """A reader that ignores quotes altogether and splits on both separators."""
    return [piece.strip(' "\n') for line in text.splitlines() for chunk in line.split(";") for piece in chunk.split(",")]


@pytest.mark.parametrize("value", [
    "Budi;=cmd|' /C calc'!A0",
    "Budi,=HYPERLINK(\"http://x\")",
    "Siti; +1+1",
    "A;\"@SUM(1)",
    "x,-2+3",
    "=1+1",
])
def test_no_cell_starts_with_a_formula_character_after_any_split(value: str) -> None:
    text = csv_text(["nama", "hp"], [[value, "0812****1234"]])
    for cells in (_cells_as_a_semicolon_reader_sees_them(text), _cells_as_a_naive_splitter_sees_them(text)):
        for cell in cells:
            assert not cell.startswith(tuple(TRIGGERS)), (value, cells)
    # Read back as the comma CSV it is, the text is the original with apostrophes only.
    [_header, row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert row[0].replace("'", "") == value.replace("'", "")


def test_plain_text_with_separators_is_unchanged() -> None:
    text = csv_text(["nama"], [["Jl. Melati 7, RT 05; RW 02"]])
    [_header, row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert row == ["Jl. Melati 7, RT 05; RW 02"]


def test_xlsx_cells_only_need_the_first_character() -> None:
    assert neutralise("Budi;=1") == "Budi;=1" and neutralise("=1") == "'=1"
