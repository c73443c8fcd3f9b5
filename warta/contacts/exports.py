"""Contact exports to CSV and XLSX, streamed, with spreadsheet formulas neutralised.

Every export is recorded in the audit trail by the caller's service (``export_contacts``):
who, which filter, how many rows, which format; never the numbers themselves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from warta.accounts import audit
from warta.lib.spreadsheet import csv_rows, neutralise

from .models import Contact

HEADER = ["nomor", "nama", "kode_wilayah", "wilayah", "operator", "label", "bahasa", "dasar_pemrosesan",
          "berhenti_berlangganan", "bergabung"]


def _rows(qs: QuerySet[Contact]) -> Iterator[list[Any]]:
    values = qs.order_by("pk").values_list(
        "e164", "name", "region__code", "region__name", "operator", "tags", "language", "consent_basis",
        "opted_out_at", "created_at",
    )
    for e164, name, code, region, operator, tags, language, basis, opted, created in values.iterator(chunk_size=5000):
        yield [
            e164, name, code or "", region or "", operator, tags.strip(","), language, basis,
            timezone.localtime(opted).strftime("%Y-%m-%d %H:%M") if opted else "",
            timezone.localtime(created).strftime("%Y-%m-%d"),
        ]


def export_csv(qs: QuerySet[Contact], *, description: str, by: Any = None) -> Iterator[str]:
    audit.record("contacts.export", None, object_type="contacts.contact", object_repr=description[:200],
                 changes={"format": "csv", "rows": qs.count(), "filter": description[:500]}, actor=by)
    return csv_rows(HEADER, _rows(qs))


def export_xlsx(qs: QuerySet[Contact], *, description: str, by: Any = None) -> Any:
    """A temporary file holding the workbook (write-only mode: constant memory)."""
    import openpyxl

    audit.record("contacts.export", None, object_type="contacts.contact", object_repr=description[:200],
                 changes={"format": "xlsx", "rows": qs.count(), "filter": description[:500]}, actor=by)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Kontak")
    sheet.append(HEADER)
    for row in _rows(qs):
        sheet.append([neutralise(cell) for cell in row])
    out = tempfile.TemporaryFile()
    workbook.save(out)
    out.seek(0)
    return out
