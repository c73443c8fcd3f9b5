"""Exports that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab/carriage return) is run as a formula by
Excel and LibreOffice; an attacker who controls a citizen's message or a contact's name could
otherwise plant one. Such cells are prefixed with an apostrophe, which spreadsheets show as text.

CSV has a second way in: the reader's locale decides the separator. An Indonesian Excel splits on
``;``, so the comma-separated cell ``Budi;=cmd|'/c calc'!A1`` becomes two cells, the second a
formula; an English one splits an unquoted ``,`` the same way. So in CSV every formula character
that follows a ``;`` or ``,`` (with spaces or a quote between) gets the apostrophe too, wherever it
is in the cell, and cells holding ``;`` are quoted like those holding ``,``. XLSX cells are never
split, so ``neutralise`` (the first character) is enough there.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_AFTER_SEPARATOR = re.compile(r"""([;,][\s"']*)(?=[=+\-@\t\r])""")


def neutralise_csv(value: Any) -> Any:
    """``neutralise``, and the same for a formula character after a ``;`` or ``,`` in the cell."""
    value = neutralise(value)
    if isinstance(value, str) and (";" in value or "," in value):
        value = _AFTER_SEPARATOR.sub(r"\1'", value)
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Yield CSV text line by line (for ``StreamingHttpResponse``), BOM first so Excel reads UTF-8."""
    writer = csv.writer(_Echo())
    quote_all = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        cells = [neutralise_csv(cell) for cell in row]
        # A ";" inside a cell is quoted too, so a ;-separated reader keeps the cell whole.
        out = quote_all if any(isinstance(c, str) and ";" in c for c in cells) else writer
        yield out.writerow(cells)


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    for line in csv_rows(header, rows):
        buf.write(line)
    return buf.getvalue()
