"""Contact imports: CSV and XLSX, streamed, checked, upserted in batches, resumable.

Theory of operation
-------------------
1. **Refuse early.** :func:`check_file` refuses a file over ``WARTA_IMPORT_MAX_BYTES`` and an
   XLSX whose zip would inflate beyond ``WARTA_IMPORT_MAX_XLSX_UNCOMPRESSED`` or by more than
   ``WARTA_IMPORT_MAX_XLSX_RATIO`` (an "XLSX bomb") *before* openpyxl opens it. The declared
   sizes checked are the ones Python's zipfile then enforces while inflating.
2. **Stream.** :func:`records` yields ``(line, cells, error)`` one record at a time: CSV through
   ``csv.reader`` over a decoding text stream (UTF-8 with or without BOM, UTF-16/32 by BOM, UTF-16
   without BOM by its NULs, else Windows-1252; anything else refused, see ``sniff_encoding``; ``,`` ``;``
   or tab, sniffed; quoted newlines; the line is where the record starts), XLSX through openpyxl's
   read-only mode. A malformed record is reported with its line and the next one is read.
   Bounded: a physical line is read at most ``WARTA_IMPORT_MAX_LINE_CHARS`` characters at a time
   and a longer one is skipped and reported; a record with more than ``WARTA_IMPORT_MAX_COLUMNS``
   columns is reported (XLSX: only that many columns are ever read). When the *first* record
   breaks a limit the file is refused outright: it is not a contact table, and its "columns"
   would become the mapping page.
3. **One pass.** :func:`process` parses each number as it reads (``warta.sms.parse_number``),
   rejects invalid, non-mobile and duplicate-in-file rows (a valid number whose region is unknown
   is imported without a region and reported as a warning), then per batch of
   ``WARTA_IMPORT_BATCH`` rows: one query for opted-out numbers, one for existing contacts, one
   multi-row ``INSERT … ON CONFLICT (e164) DO UPDATE … RETURNING`` for new and *changed* rows
   only (so a re-import writes nothing), the group memberships, the rejects, and the job's
   counters and checkpoint, all in one transaction.
4. **Crash.** The checkpoint (``ImportJob.processed_rows``) commits with its batch, so after a
   crash the database holds whole batches only; :func:`resume` re-queues the job, and
   :func:`process` skips the committed records (re-parsing their numbers to rebuild the
   duplicate-detection set) and goes on. A dry run is the same loop with the writes left out.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from warta.sms.numbers import NumberKind, parse_number

from . import conf
from .models import (
    Contact,
    ImportJob,
    ImportReject,
    ImportState,
    LawfulBasis,
    OptOut,
    RejectReason,
    normalise_tag,
)
from .regions import RegionMatcher

FIELDS = ("phone", "name", "region", "tags", "language")
FIELD_LABELS = {
    "phone": _("Nomor ponsel (wajib)"),
    "name": _("Nama"),
    "region": _("Wilayah (kode atau nama kelurahan/kecamatan/kota)"),
    "tags": _("Label (dipisah koma)"),
    "language": _("Bahasa (id/en)"),
}
# Header spellings seen in the wild, for the first guess of the mapping.
_HEADER_GUESSES = {
    "phone": re.compile(r"^(no\.?\s*)?(hp|handphone|ponsel|telepon|telp|tlp|phone|msisdn|nomor|number|mobile|wa|whatsapp)", re.I),
    "name": re.compile(r"^(nama|name)", re.I),
    "region": re.compile(r"^(wilayah|kelurahan|kel|kecamatan|kota|region|kode_?wilayah)", re.I),
    "tags": re.compile(r"^(label|tag|tags)", re.I),
    "language": re.compile(r"^(bahasa|language|lang)$", re.I),
}
SNIFF_BYTES = 64 * 1024
MAX_FIELD = 64 * 1024
STALE_AFTER = timedelta(minutes=2)


class ImportRefused(Exception):
    """A file we will not read; ``str()`` says why and what to do, in Indonesian."""


# ---------------------------------------------------------------------------------------------
# Files


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt", ".tsv", ""):
        return "csv"
    raise ImportRefused(_("Format berkas %(ext)s tidak didukung. Unggah CSV atau XLSX.") % {"ext": suffix})


def _mib(n: int) -> str:
    return number_format(n / (1024 * 1024), 0, force_grouping=True)


def check_file(path: str | Path, fmt: str, size: int | None = None) -> None:
    size = os.path.getsize(path) if size is None else size
    limit = conf.get("WARTA_IMPORT_MAX_BYTES")
    if size > limit:
        raise ImportRefused(
            _("Berkas terlalu besar (%(size)s MiB; batas %(limit)s MiB). Pecah berkas menjadi beberapa bagian.")
            % {"size": _mib(size), "limit": _mib(limit)}
        )
    if size == 0:
        raise ImportRefused(_("Berkas kosong. Pilih berkas yang berisi data kontak."))
    if fmt == "xlsx":
        check_xlsx(path, size)


def check_xlsx(path: str | Path, size: int) -> None:
    if not zipfile.is_zipfile(path):
        raise ImportRefused(_("Berkas bukan XLSX yang sah. Simpan ulang dari Excel/LibreOffice sebagai .xlsx, atau gunakan CSV."))
    max_total = conf.get("WARTA_IMPORT_MAX_XLSX_UNCOMPRESSED")
    max_ratio = conf.get("WARTA_IMPORT_MAX_XLSX_RATIO")
    refused = ImportRefused(
        _("Berkas XLSX ini mengembang jauh melebihi ukurannya (kemungkinan 'zip bomb') dan ditolak demi keamanan. "
          "Simpan ulang sebagai CSV lalu unggah lagi.")
    )
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            total += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
                raise refused
    if total > max_total or total > max_ratio * max(size, 1) and total > 10 * 1024 * 1024:
        raise refused


def store_upload(chunks: Any, filename: str) -> tuple[str, int]:
    """Write an upload into MEDIA_ROOT/imports under a random name; returns (path, size)."""
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower()[:6]
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with path.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            out.write(chunk)
    return str(path), size


def sniff_encoding(sample: bytes) -> str:
    """The file's encoding from its first bytes: a BOM (UTF-8, UTF-16, UTF-32), valid UTF-8, UTF-16
    without a BOM (NUL in every other byte), else Windows-1252 (what Excel calls "ANSI" on an
    Indonesian Windows; a superset of Latin-1's printable range). Anything else, e.g. Shift-JIS or
    a binary file, is refused with a message rather than silently misread."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if len(sample) >= 4 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if len(sample) >= 4 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        raise _undecodable()
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        raise _undecodable() from None
    # C1 control characters and most of cp1252's rarely used symbols mean another encoding.
    odd_chars = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n" or ch in "ƒ†‡ˆ‰Šš‹›ŒœŽž˜™")
    if odd_chars > max(3, len(text) // 200):
        raise _undecodable()
    return "cp1252"


def _undecodable() -> ImportRefused:
    return ImportRefused(_("Encoding berkas tidak dikenali (bukan UTF-8, UTF-16 atau Windows-1252/Latin-1), "
                           "sehingga isinya akan terbaca salah. Di Excel pilih Simpan Sebagai → "
                           "\"CSV UTF-8 (dipisah koma)\", lalu unggah lagi."))


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab that splits the first records most consistently."""
    best, best_score = ",", (-1, 0)
    for delimiter in (",", ";", "\t"):
        try:
            rows = []
            reader = csv.reader(io.StringIO(text), delimiter=delimiter)
            for row in reader:
                rows.append(len(row))
                if len(rows) >= 20:
                    break
        except csv.Error:
            continue
        if not rows or rows[0] < 2:
            continue
        if len(rows) > 1 and not text.endswith("\n"):
            rows = rows[:-1]  # the sample may cut the last record
        score = (sum(1 for n in rows if n == rows[0]), rows[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff_csv(path: str | Path) -> tuple[str, str]:
    with open(path, "rb") as fh:
        sample = fh.read(SNIFF_BYTES)
    encoding = sniff_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    return encoding, sniff_delimiter(text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


Record = tuple[int, list[str] | None, str]


class LineTooLong(Exception):
    pass


class _BoundedLines:
    """The physical lines of a text stream, none longer than ``limit`` characters in memory: a
    longer line raises :class:`LineTooLong` once (the rest of it is skipped in bounded reads) and
    iteration goes on with the next line. ``csv.reader`` starts each record afresh after it."""

    def __init__(self, text: io.TextIOBase, limit: int) -> None:
        self.text, self.limit, self.line = text, limit, 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.line += 1
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            while line and not line.endswith(("\n", "\r")):
                line = self.text.readline(self.limit)
            raise LineTooLong(self.line)
        return line


def _too_long_message() -> str:
    return _("Baris lebih dari %(n)s karakter; dilewati. Berkas kontak berisi baris pendek: periksa "
             "bahwa ini tabel kontak dengan pemisah baris biasa.") % {
        "n": number_format(conf.get("WARTA_IMPORT_MAX_LINE_CHARS"), 0, force_grouping=True)}


def _too_wide_message(columns: int) -> str:
    return _("Baris berisi %(n)s kolom; batasnya %(max)s. Hapus kolom yang tidak perlu, atau periksa "
             "pemisah kolomnya.") % {"n": number_format(columns, 0, force_grouping=True),
                                      "max": conf.get("WARTA_IMPORT_MAX_COLUMNS")}


def _csv_records(path: str | Path, encoding: str, delimiter: str) -> Iterator[Record]:
    csv.field_size_limit(MAX_FIELD)
    max_columns = conf.get("WARTA_IMPORT_MAX_COLUMNS")
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        lines = _BoundedLines(text, conf.get("WARTA_IMPORT_MAX_LINE_CHARS"))
        reader = csv.reader(lines, delimiter=delimiter)
        previous = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except LineTooLong:
                yield previous + 1, None, _too_long_message()
                previous = lines.line
                continue
            except csv.Error as exc:
                yield previous + 1, None, str(exc)
                previous = lines.line
                continue
            if len(row) > max_columns:
                yield previous + 1, None, _too_wide_message(len(row))
            else:
                yield previous + 1, row, ""
            previous = lines.line


def _broken_xlsx() -> ImportRefused:
    return ImportRefused(_("Berkas XLSX ini rusak atau tidak lengkap sehingga tidak dapat dibaca. Buka di "
                           "Excel/LibreOffice, simpan ulang sebagai .xlsx atau CSV, lalu unggah lagi."))


def _open_xlsx(path: str | Path, **options: Any) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, **options)
    except Exception as exc:  # openpyxl raises KeyError, BadZipFile, ParseError, ValueError, …
        raise _broken_xlsx() from exc


def _xlsx_records(path: str | Path) -> Iterator[Record]:
    max_columns = conf.get("WARTA_IMPORT_MAX_COLUMNS")
    workbook = _open_xlsx(path, data_only=True)
    try:
        if not workbook.worksheets:
            raise _broken_xlsx()
        sheet = workbook.worksheets[0]
        declared = sheet.max_column  # from the sheet's <dimension>, when it has one
        if declared and declared > max_columns:
            raise ImportRefused(_("Lembar kerja pertama memakai %(n)s kolom; batasnya %(max)s. Hapus kolom "
                                  "yang tidak perlu (juga yang tampak kosong) atau simpan sebagai CSV.")
                                % {"n": number_format(declared, 0, force_grouping=True), "max": max_columns})
        # One column past the limit is read, to know that a row breaks it; never the 16,384 a
        # forged sheet dimension could announce.
        rows = sheet.iter_rows(values_only=True, max_col=max_columns + 1)
        number = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a broken sheet part: malformed XML, bad cell references
                raise _broken_xlsx() from exc
            number += 1
            cells = [_cell(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            if len(cells) > max_columns:
                yield number, None, _too_wide_message(len(cells))
            else:
                yield number, cells, ""
    finally:
        workbook.close()


def records(job: ImportJob) -> Iterator[Record]:
    if job.format == "xlsx":
        return _xlsx_records(job.file_path)
    return _csv_records(job.file_path, job.encoding, job.delimiter)


def estimate_rows(job: ImportJob) -> int | None:
    if job.format == "xlsx":
        workbook = _open_xlsx(job.file_path)
        try:
            rows = workbook.worksheets[0].max_row
        finally:
            workbook.close()
    else:
        rows = 0
        last = b""
        with open(job.file_path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                rows += chunk.count(b"\n")
                last = chunk
        if last and not last.endswith(b"\n"):
            rows += 1
    if rows is None:
        return None
    return max(0, rows - (1 if job.has_header else 0))


def guess_mapping(header: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for name, pattern in _HEADER_GUESSES.items():
        for index, cell in enumerate(header):
            if index not in mapping.values() and pattern.match(cell.strip()):
                mapping[name] = index
                break
    return mapping


def create_job(path: str, filename: str, size: int, *, by: Any = None) -> ImportJob:
    """Check a stored file and describe it (format, encoding, delimiter, columns, a first mapping).
    A file refused for any reason is deleted: nothing of it stays on disk."""
    try:
        return _create_job(path, filename, size, by=by)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def _first_record(job: ImportJob) -> list[str]:
    for _line, cells, error in records(job):
        if cells is None:
            # The first record breaks a limit: not a contact table. Refuse the file outright.
            raise ImportRefused(_("Berkas ditolak: baris pertamanya tidak terbaca sebagai tabel kontak "
                                  "(%(reason)s)") % {"reason": error})
        return cells
    return []


def _create_job(path: str, filename: str, size: int, *, by: Any = None) -> ImportJob:
    fmt = detect_format(filename)
    check_file(path, fmt, size)
    job = ImportJob(file_path=path, filename=filename[:255], size=size, format=fmt, created_by=by)
    if fmt == "csv":
        job.encoding, job.delimiter = sniff_csv(path)
    header = _first_record(job)
    if not header or not any(cell.strip() for cell in header):
        raise ImportRefused(_("Tidak ada baris data yang terbaca. Periksa bahwa berkas berisi tabel kontak."))
    # No header when the first row already holds a phone number somewhere.
    job.has_header = not any(parse_number(cell).is_valid for cell in header if cell.strip()[:1].isdigit() or cell.startswith("+"))
    job.columns = [c.strip()[:60] or _("Kolom %(n)d") % {"n": i + 1} for i, c in enumerate(header)] if job.has_header else [
        _("Kolom %(n)d") % {"n": i + 1} for i in range(len(header))
    ]
    job.mapping = guess_mapping(header) if job.has_header else {}
    if "phone" not in job.mapping and not job.has_header:
        for index, cell in enumerate(header):
            if parse_number(cell).is_valid:
                job.mapping["phone"] = index
                break
    job.save()
    return job


def preview(job: ImportJob, n: int = 10) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    for line, cells, _error in records(job):
        if cells is not None:
            rows.append((line, cells))
        if len(rows) >= n:
            break
    return rows


# ---------------------------------------------------------------------------------------------
# Processing


@dataclass(slots=True)
class Candidate:
    line: int
    e164: str
    operator: str
    name: str
    region_id: int | None
    tags: set[str]
    language: str


@dataclass
class Batch:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    rejects: list[ImportReject] = field(default_factory=list)
    warnings: list[ImportReject] = field(default_factory=list)  # imported, with a caveat


def _reject_message(reason: str) -> str:
    return str(dict(RejectReason.choices)[reason])


def _contact_table() -> str:
    return connection.ops.quote_name(Contact._meta.db_table)


_CONTACT_COLUMNS = (
    "e164", "name", "region_id", "tags", "operator", "language", "source",
    "consent_basis", "consent_at", "consent_proof", "opt_out_channel", "last_active_at", "created_at",
)
_PG_TYPES = ("text", "text", "bigint", "text", "text", "text", "text", "text", "timestamptz", "text", "text",
             "timestamptz", "timestamptz")
_ROWS_PER_STATEMENT = 1000  # 13 params a row: well under SQLite's 32,766


def _upsert(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """INSERT … ON CONFLICT (e164) DO UPDATE the mutable columns; returns e164 -> id."""
    ids: dict[str, int] = {}
    if not rows:
        return ids
    columns = ", ".join(_CONTACT_COLUMNS)
    row_sql = "(" + ", ".join(["%s"] * len(_CONTACT_COLUMNS)) + ")"
    update = ", ".join(f"{c} = excluded.{c}" for c in ("name", "region_id", "tags", "language"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: 13 parameters, however many rows. A 13,000-placeholder
            # VALUES list costs psycopg more to split than the server takes to run it.
            columns_sql = ", ".join(f"%b::{t}[]" for t in _PG_TYPES)
            with _pg_cursor() as pg:
                pg.execute(
                    f"INSERT INTO {_contact_table()} ({columns}) SELECT * FROM unnest({columns_sql}) "
                    f"ON CONFLICT (e164) DO UPDATE SET {update} RETURNING id, e164",
                    [list(column) for column in zip(*rows, strict=True)],
                )
                ids.update((e164, pk) for pk, e164 in pg.fetchall())
            return ids
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            sql = (
                f"INSERT INTO {_contact_table()} ({columns}) VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT (e164) DO UPDATE SET {update} RETURNING id, e164"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            ids.update((e164, pk) for pk, e164 in cursor.fetchall())
    return ids


def _add_memberships(group_id: int, contact_ids: list[int], at: Any) -> None:
    if not contact_ids:
        return
    from .models import Membership

    table = connection.ops.quote_name(Membership._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with _pg_cursor() as pg:
                pg.execute(
                    f"INSERT INTO {table} (contact_id, group_id, added_at) SELECT c, %b, %b FROM unnest(%b::bigint[]) AS c "
                    "ON CONFLICT (group_id, contact_id) DO NOTHING",
                    [group_id, at, contact_ids],
                )
            return
        for start in range(0, len(contact_ids), 5000):
            chunk = contact_ids[start : start + 5000]
            cursor.execute(
                f"INSERT INTO {table} (contact_id, group_id, added_at) VALUES "
                + ", ".join(["(%s, %s, %s)"] * len(chunk))
                + " ON CONFLICT (group_id, contact_id) DO NOTHING",
                [v for pk in chunk for v in (pk, group_id, at)],
            )


def _pg_cursor() -> Any:
    """A server-binding psycopg cursor on Django's connection (same transaction) for binary
    array parameters: Django's client-side cursor quotes a 5,000-item array in Python, ~10× slower."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _select_existing(table: str, columns: tuple[str, ...], numbers: list[str]) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE e164 IN (…)``: raw, because building a 5,000-item ``__in``
    lookup through the ORM costs more than the query itself."""
    rows: list[tuple[Any, ...]] = []
    if not numbers:
        return rows
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with _pg_cursor() as pg:
                pg.execute(f"SELECT {', '.join(columns)} FROM {quoted} WHERE e164 = ANY(%b)", [numbers])
                return list(pg.fetchall())
        for start in range(0, len(numbers), 5000):
            chunk = numbers[start : start + 5000]
            cursor.execute(f"SELECT {', '.join(columns)} FROM {quoted} WHERE e164 IN ({', '.join(['%s'] * len(chunk))})", chunk)
            rows.extend(cursor.fetchall())
    return rows


def after_batch_committed(job: ImportJob) -> None:
    """Called after each committed batch. A seam for tests (a crash between batches)."""


class Importer:
    """One run of one phase (dry run or import) of a job; see the module docstring."""

    def __init__(self, job: ImportJob, *, batch_size: int | None = None,
                 progress: Callable[[ImportJob], None] | None = None) -> None:
        self.job = job
        self.dry_run = job.dry_run
        self.batch_size = batch_size or conf.get("WARTA_IMPORT_BATCH")
        self.progress = progress
        self.mapping = {k: int(v) for k, v in job.mapping.items() if v is not None and v != ""}
        self.matcher = RegionMatcher() if "region" in self.mapping else None
        self.seen: set[int] = set()
        self.now = timezone.now()
        self.add_tags = {normalise_tag(t) for t in job.add_tags.split(",") if normalise_tag(t)}
        group = job.group
        self.consent_basis = group.lawful_basis if group else job.consent_basis
        self.consent_proof = (group.consent_proof if group else "")[:300]
        self.adapt_dt = connection.ops.adapt_datetimefield_value
        self._tag_cache: dict[str, frozenset[str]] = {}

    def _cells(self, cells: list[str], name: str) -> str:
        index = self.mapping.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    def classify(self, line: int, cells: list[str] | None, error: str, batch: Batch) -> None:
        if cells is None:
            batch.rejects.append(self._reject(line, "", RejectReason.MALFORMED, error))
            return
        phone_index = self.mapping["phone"]
        if phone_index >= len(cells):
            if any(c.strip() for c in cells):
                batch.rejects.append(self._reject(line, ";".join(cells)[:200], RejectReason.MALFORMED,
                                                  _("Kolom nomor tidak ada di baris ini.")))
            return
        raw = cells[phone_index]
        if not raw.strip() and not any(c.strip() for c in cells):
            return  # a blank line is not a reject
        info = parse_number(raw)
        if info.kind is NumberKind.INVALID:
            assert info.reason is not None
            batch.rejects.append(self._reject(line, raw, RejectReason.INVALID, info.reason.message_id))
            return
        if info.kind is not NumberKind.MOBILE:
            batch.rejects.append(self._reject(line, raw, RejectReason.NOT_MOBILE, ""))
            return
        e164 = info.e164
        assert e164 is not None
        key = int(e164[1:])
        if key in self.seen:
            batch.rejects.append(self._reject(line, raw, RejectReason.DUPLICATE, ""))
            return
        self.seen.add(key)
        region_id = None
        if self.matcher is not None:
            region_cell = self._cells(cells, "region")
            if region_cell:
                region_id = self.matcher.match(region_cell)
                if region_id is None:
                    # The number is good: losing the citizen over a misspelt kelurahan helps no one.
                    batch.warnings.append(self._reject(line, raw, RejectReason.UNKNOWN_REGION, _(
                        "Diimpor tanpa wilayah: %(cell)s tidak dikenal.") % {"cell": region_cell[:100]}))
        tags = self._tags_for(self._cells(cells, "tags"))
        language = self._cells(cells, "language").lower()[:2]
        batch.candidates[e164] = Candidate(
            line=line, e164=e164, operator=str(info.operator), name=self._cells(cells, "name")[:200],
            region_id=region_id, tags=tags, language=language if language in ("id", "en") else "",
        )

    def _tags_for(self, cell: str) -> set[str]:
        # A few distinct tag cells repeat over a million rows: parse each spelling once.
        tags = self._tag_cache.get(cell)
        if tags is None:
            tags = frozenset(self.add_tags | {t for t in (normalise_tag(x) for x in re.split(r"[,;|]", cell)) if t})
            if len(self._tag_cache) < 10_000:
                self._tag_cache[cell] = tags
        return tags  # type: ignore[return-value]

    def _reject(self, line: int, raw: str, reason: str, detail: str) -> ImportReject:
        return ImportReject(job_id=self.job.pk, dry_run=self.dry_run, line=line, raw=raw[:200], reason=str(reason),
                            detail=(detail or _reject_message(reason))[:300])

    def replay(self, cells: list[str] | None) -> None:
        """A record before the checkpoint: only its number, for the duplicate set."""
        if cells is None or self.mapping["phone"] >= len(cells):
            return
        info = parse_number(cells[self.mapping["phone"]])
        if info.kind is NumberKind.MOBILE and info.e164:
            self.seen.add(int(info.e164[1:]))

    def flush(self, batch: Batch, processed: int) -> None:
        job = self.job
        candidates = batch.candidates
        numbers = list(candidates)
        with transaction.atomic():
            opted = _select_existing(OptOut._meta.db_table, ("e164",), numbers)
            for (e164,) in opted:
                c = candidates.pop(e164)
                batch.rejects.append(self._reject(c.line, c.e164, RejectReason.OPTED_OUT, ""))
            existing = {
                row[1]: row
                for row in _select_existing(Contact._meta.db_table, ("id", "e164", "name", "region_id", "tags", "language"),
                                            list(candidates))
            }
            rows: list[tuple[Any, ...]] = []
            member_ids: list[int] = []
            created = updated = unchanged = 0
            now = self.adapt_dt(self.now)
            consent_at = now if self.consent_basis == LawfulBasis.CONSENT else None
            for e164, c in candidates.items():
                old = existing.get(e164)
                if old is None:
                    created += 1
                    rows.append((e164, c.name, c.region_id, _tags(c.tags), c.operator, c.language or "id",
                                 f"import:{job.pk}", self.consent_basis, consent_at, self.consent_proof, "", now, now))
                    continue
                pk, _e, name, region_id, tags, language = old
                new_name = c.name or name
                new_region = c.region_id if c.region_id is not None else region_id
                new_tags = _tags(c.tags | {t for t in tags.split(",") if t}) if c.tags else tags
                new_language = c.language or language
                if (new_name, new_region, new_tags, new_language) == (name, region_id, tags, language):
                    unchanged += 1
                    member_ids.append(pk)
                else:
                    updated += 1
                    rows.append((e164, new_name, new_region, new_tags, c.operator, new_language, "", "", None, "", "", now, now))
            if not self.dry_run:
                member_ids.extend(_upsert(rows).values())
                if job.group_id:
                    _add_memberships(job.group_id, member_ids, now)
            ImportReject.objects.bulk_create(batch.rejects + batch.warnings, batch_size=2000)
            job.created += created
            job.updated += updated
            job.unchanged += unchanged
            job.rejected += len(batch.rejects)
            reasons = dict(job.rejected_by_reason)
            for reject in batch.rejects:
                reasons[reject.reason] = reasons.get(reject.reason, 0) + 1
            job.rejected_by_reason = reasons
            warnings = dict(job.warnings)
            for warning in batch.warnings:
                warnings[warning.reason] = warnings.get(warning.reason, 0) + 1
            job.warnings = warnings
            job.processed_rows = processed
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["created", "updated", "unchanged", "rejected", "rejected_by_reason", "warnings",
                                    "processed_rows", "heartbeat_at"])
        after_batch_committed(job)
        if self.progress:
            self.progress(job)

    def run(self) -> ImportJob:
        job = self.job
        if "phone" not in self.mapping:
            raise ImportRefused(_("Kolom nomor ponsel belum dipetakan."))
        checkpoint = job.processed_rows
        index = 0
        batch = Batch()
        source = records(job)
        if job.has_header:
            next(source, None)
        for line, cells, error in source:
            index += 1
            if index <= checkpoint:
                self.replay(cells)
                continue
            self.classify(line, cells, error, batch)
            if len(batch.candidates) + len(batch.rejects) >= self.batch_size:
                self.flush(batch, index)
                batch = Batch()
        self.flush(batch, index)
        return job


def _tags(tags: set[str]) -> str:
    return "," + ",".join(sorted(tags)) + "," if tags else ""


# ---------------------------------------------------------------------------------------------
# Job lifecycle


def _reset_counters(job: ImportJob) -> None:
    job.processed_rows = job.created = job.updated = job.unchanged = job.rejected = 0
    job.rejected_by_reason = {}
    job.warnings = {}
    job.error = ""
    job.finished_at = None


@transaction.atomic
def start(job: ImportJob, *, dry_run: bool, enqueue: bool = True) -> ImportJob:
    """Begin a dry run or the import from the first row; the task runs it in the worker."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.is_active:
        raise ImportRefused(_("Impor ini sedang berjalan."))
    if "phone" not in job.mapping:
        raise ImportRefused(_("Kolom nomor ponsel belum dipetakan."))
    if not dry_run and job.state == ImportState.DONE:
        raise ImportRefused(_("Impor ini sudah selesai. Unggah berkas lagi untuk mengimpor ulang."))
    ImportReject.objects.filter(job=job, dry_run=dry_run).delete()
    _reset_counters(job)
    job.dry_run = dry_run
    job.state = ImportState.CHECKING if dry_run else ImportState.QUEUED
    job.heartbeat_at = None
    job.started_at = timezone.now()
    job.total_rows = estimate_rows(job)
    job.save()
    if enqueue:
        _enqueue(job)
    return job


def _enqueue(job: ImportJob) -> None:
    from .tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(job.pk))


@transaction.atomic
def resume(job: ImportJob, *, enqueue: bool = True) -> ImportJob:
    """Re-queue a failed or crashed job; it continues from its checkpoint."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in (ImportState.RUNNING, ImportState.CHECKING, ImportState.FAILED, ImportState.QUEUED):
        raise ImportRefused(_("Impor ini tidak dapat dilanjutkan."))
    job.state = ImportState.CHECKING if job.dry_run else ImportState.QUEUED
    job.heartbeat_at = None
    job.error = ""
    job.save(update_fields=["state", "heartbeat_at", "error"])
    if enqueue:
        _enqueue(job)
    return job


def is_stalled(job: ImportJob) -> bool:
    return (
        job.state in (ImportState.RUNNING, ImportState.CHECKING)
        and job.heartbeat_at is not None
        and timezone.now() - job.heartbeat_at > STALE_AFTER
    )


def claim(job_id: int) -> ImportJob | None:
    """Take the job for this process (conditional UPDATE; None when another has it)."""
    from django.db.models import Q

    now = timezone.now()
    free = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - STALE_AFTER)
    taken = ImportJob.objects.filter(
        Q(pk=job_id) & free & (Q(state=ImportState.QUEUED) | Q(state=ImportState.RUNNING) | Q(state=ImportState.CHECKING))
    ).update(heartbeat_at=now)
    if not taken:
        return None
    job = ImportJob.objects.select_related("group").get(pk=job_id)
    if job.state == ImportState.QUEUED:
        job.state = ImportState.RUNNING
        job.save(update_fields=["state"])
    return job


def execute(job_id: int, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob | None:
    """Claim and run a job to its end (the background task's body; the CLI calls it directly)."""
    job = claim(job_id)
    if job is None:
        return None
    try:
        Importer(job, progress=progress).run()
    except Exception as exc:  # any failure: keep the checkpoint, say what happened, allow resume
        job.refresh_from_db()
        job.state = ImportState.FAILED
        job.error = str(exc)[:2000] if isinstance(exc, ImportRefused) else _(
            "Impor terhenti karena kesalahan (%(error)s). Data hingga baris ke-%(rows)s sudah tersimpan; "
            "klik Lanjutkan untuk meneruskan."
        ) % {"error": type(exc).__name__, "rows": job.processed_rows}
        job.save(update_fields=["state", "error"])
        raise
    if not job.dry_run and job.created > 50_000 and connection.vendor == "postgresql":
        # Fresh planner statistics: without them the first audience over a just-loaded million
        # rows may be planned as if the table were empty (autovacuum catches up only later).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_contact_table()}")
    job.state = ImportState.CHECKED if job.dry_run else ImportState.DONE
    job.finished_at = timezone.now()
    if job.dry_run:
        job.dry_run_report = report(job)
    job.save(update_fields=["state", "finished_at", "dry_run_report"])
    from warta.accounts import audit

    audit.record("contacts.import_dry_run" if job.dry_run else "contacts.import", job, changes=report(job),
                 actor=job.created_by)
    return job


def report(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job.pk,
        "file": job.filename,
        "dry_run": job.dry_run,
        "state": job.state,
        "rows": job.processed_rows,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "rejected_by_reason": dict(sorted(job.rejected_by_reason.items())),
        "warnings": dict(sorted(job.warnings.items())),
    }


def rejects_rows(job: ImportJob, dry_run: bool) -> Iterator[list[Any]]:
    qs = ImportReject.objects.filter(job=job, dry_run=dry_run).order_by("line", "pk").values_list("line", "raw", "reason", "detail")
    labels = dict(RejectReason.choices)
    for line, raw, reason, detail in qs.iterator(chunk_size=5000):
        yield [line, raw, reason, str(labels.get(reason, reason)), detail]


REJECTS_HEADER = ["baris", "nomor", "kode_alasan", "alasan", "keterangan"]
