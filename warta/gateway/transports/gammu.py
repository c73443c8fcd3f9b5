"""Gammu SMSD transport (``gammu+sqlite:///var/lib/gammu/smsd.db?number=02132881818``): a GSM modem
driven by ``gammu-smsd``, which Warta talks to through gammu-smsd's own SQLite database.

Theory of operation
-------------------
gammu-smsd polls its ``outbox`` table, sends through the modem, writes one ``sentitems`` row per
part, and stores what the modem receives in ``inbox``. Warta is one more client of that database
(Python's ``sqlite3``, one thread per bind, never Django's database), so it works with any
gammu-smsd that runs the schema shipped as ``/usr/share/doc/gammu-smsd/examples/sqlite.sql``.

* **Send.** One ``outbox`` row per message plus one ``outbox_multipart`` row per further part,
  in ONE transaction: gammu-smsd reads a multipart message as soon as its first row is visible,
  so the parts must not appear one by one. Each part carries its text (``TextDecoded``), its
  ``Coding`` (``Default_No_Compression`` or ``Unicode_No_Compression``) and, when there are
  several, the concatenation UDH (``050003 RR TT SS``) that gammu-smsd sends as is. Handing the
  message to gammu-smsd is the submit: the parts' ids are ``"<outbox ID>.<part>"`` (gammu-smsd
  keeps the outbox ID in ``sentitems``, and SQLite's AUTOINCREMENT never reuses one).
* **Status.** A poll task reads ``sentitems`` rows of our ``CreatorID`` changed since the last
  look and turns the final ones into receipts through the engine's ``on_receipt`` callback, the
  same path as SMPP receipts: ``DeliveryOK`` → delivered, ``DeliveryFailed`` → undelivered,
  ``Error`` (and ``SendingError`` once gammu-smsd gave up and removed the outbox row) → rejected.
  ``SendingOK`` (sent, report awaited), ``DeliveryPending`` and ``DeliveryUnknown`` change
  nothing. ``SendingOKNoReport`` means no report will ever come: the message stays
  ``submitted``, which is the truth (Warta knows the modem sent it, not that it arrived).
* **Citizens' messages.** Unprocessed ``inbox`` rows go to the engine's ``on_mo`` callback; only
  after the engine committed them are they marked ``Processed = 'true'``. A crash in between means
  the rows come again (at least once); the inbox's dedup window catches the repeat.
* **Times.** gammu-smsd sends a row once ``SendingDateTime`` and ``SendingTimeOut`` are before
  ``datetime('now', 'localtime')`` in ITS time zone, which need not be Warta's (Django sets the
  process's zone from ``TIME_ZONE``). Warta writes both one day in the past, so a row is due at
  once whatever either zone is; validity is carried by ``RelativeValidity``, not by these.
* **What a modem cannot do.** It sends from its SIM's number: a sender ID (``HumasDKI``) cannot be
  masked and is ignored. Throughput is a few messages per second at best: keep ``tps`` low so the
  queue stays in Warta's outbox, where pause, cancel and validity reach it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from warta.gateway.smppclient import SubmitResult
from warta.sms.segments import Concat, Encoding, UdhError, concat_udh, parse_udh, split_text

from . import (
    ConnectionSpec,
    ConnectionURLError,
    TransportError,
    float_option,
    int_option,
    split_options,
)

log = logging.getLogger("warta.gateway.gammu")
T = TypeVar("T")

KNOWN = {"tps": "pesan per detik", "number": "nomor modem (tujuan pesan masuk)", "creator": "CreatorID",
         "phone": "PhoneID gammu-smsd", "report": "yes | no", "poll": "detik", "lookback": "detik"}

#: ``sentitems.Status`` → receipt word for the engine (``warta.blasts.outbox.RECEIPT_STATES``).
#: Statuses not here are not final and change nothing.
SENT_STATUS: dict[str, str] = {
    "DeliveryOK": "DELIVRD",
    "DeliveryFailed": "UNDELIV",
    "Error": "REJECTD",  # gammu-smsd gave up after its retries
    "SendingError": "REJECTD",  # final only once the outbox row is gone (checked in the poll)
}
CODING = {Encoding.GSM7: "Default_No_Compression", Encoding.UCS2: "Unicode_No_Compression"}
SCHEMA_VERSION = 17  # what gammu-smsd 1.42's sqlite.sql creates


def parse(url: str) -> ConnectionSpec:
    parts = urlsplit(url)
    if parts.netloc:
        raise ConnectionURLError(
            _("URL gammu+sqlite memakai tiga garis miring dan path berkas: gammu+sqlite:///var/lib/gammu/smsd.db "
              "(didapat host %(host)r).") % {"host": parts.netloc})
    if not parts.path or parts.path == "/":
        raise ConnectionURLError(_("URL gammu+sqlite:/// perlu path berkas basis data SMSD."))
    options = split_options(parts.query, KNOWN, "gammu+sqlite")
    if options.get("report", "yes") not in ("yes", "no"):
        raise ConnectionURLError(_("Opsi report harus yes atau no, bukan %(v)r.") % {"v": options["report"]})
    float_option(options, "poll", 1.0, 0.05, 60.0)
    int_option(options, "lookback", 86400, 0, 30 * 86400)
    return ConnectionSpec(kind="gammu+sqlite", url=url, path=parts.path, window=1,
                          tps=float_option(options, "tps", 1.0, 0.0, 100.0), binds=1, options=options)


@dataclass(frozen=True, slots=True)
class GammuMO:
    """A citizen's message from gammu's ``inbox``, shaped like the SMPP client's MO for the engine."""

    source_addr: str
    destination_addr: str
    text: str
    concat: Concat | None
    gammu_id: int
    data_coding: int = 0


def relative_validity(seconds: float) -> int:
    """GSM 03.40 §9.2.3.12.1 relative validity octet for at most ``seconds`` (rounded down)."""
    minutes = seconds / 60
    if minutes < 5:
        return 0
    if minutes <= 720:
        return int(minutes // 5) - 1
    if minutes <= 1440:
        return 143 + int((minutes - 720) // 30)
    days = minutes / 1440
    if days <= 30:
        return 166 + int(days)
    return min(255, 192 + int(days // 7))


def _watermark(at: datetime) -> str:
    # sentitems.UpdatedInDB is written by SQLite's datetime('now'): UTC text.
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


OnReceipt = Callable[[str, str, str], Awaitable[None]]
OnMo = Callable[[Any], Awaitable[None]]


class GammuBind:
    """gammu-smsd's database as a bind."""

    def __init__(self, spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> None:
        self.spec = spec
        self.window: int = spec.window
        self.path = spec.path
        self.creator = spec.options.get("creator", "warta")
        self.phone = spec.options.get("phone", "")
        self.number = spec.options.get("number", "")
        self.report = spec.options.get("report", "yes")
        self.poll_interval = float_option(spec.options, "poll", 1.0, 0.05, 60.0)
        self.lookback = int_option(spec.options, "lookback", 86400, 0, 30 * 86400)
        self._on_receipt = on_receipt
        self._on_mo = on_mo
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="warta-gammu")
        self._db: sqlite3.Connection | None = None
        self._bound = False
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._since = ""
        self._seen: dict[tuple[int, int], tuple[str, str]] = {}  # (ID, part) → (status, UpdatedInDB)
        self._ref = secrets.randbelow(256)
        self.last_error = ""

    @property
    def bound(self) -> bool:
        return self._bound and not self._closing

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ---------------------------------------------------------------- database steps (thread)

    def _connect(self) -> None:
        try:
            # mode=rw: never create an empty file where gammu-smsd's database should be.
            db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=5.0, isolation_level=None)
            version = db.execute("SELECT Version FROM gammu").fetchone()
            for table in ("outbox", "outbox_multipart", "sentitems", "inbox"):
                db.execute(f"SELECT 1 FROM {table} LIMIT 0")  # noqa: S608 (fixed names)
        except sqlite3.Error as exc:
            raise TransportError(
                _("Basis data Gammu SMSD %(path)s tidak dapat dibuka atau bukan skema gammu-smsd (%(e)s). "
                  "Buat dengan sqlite.sql dari paket gammu-smsd.") % {"path": self.path, "e": exc},
                permanent=False) from None
        if not version or int(version[0]) < SCHEMA_VERSION:
            db.close()
            raise TransportError(
                _("Skema Gammu SMSD %(path)s versi %(v)s; Warta memerlukan versi %(need)d (gammu-smsd 1.42).")
                % {"path": self.path, "v": version[0] if version else "?", "need": SCHEMA_VERSION}, permanent=True)
        self._db = db

    def _insert(self, to: str, text: str, validity: int) -> tuple[int, int]:
        """Queue one message for gammu-smsd; returns (outbox ID, parts)."""
        encoding, texts = split_text(text)
        if not texts:
            texts = [""]
        coding = CODING[encoding]
        multi = len(texts) > 1
        if len(texts) > 255:
            raise TransportError(_("Teks terlalu panjang untuk SMS bersambung (lebih dari 255 bagian)."), permanent=True)
        self._ref = (self._ref + 1) & 0xFF
        udh = [concat_udh(self._ref, len(texts), i).hex().upper() if multi else "" for i in range(1, len(texts) + 1)]
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO outbox (DestinationNumber, TextDecoded, Coding, UDH, MultiPart, CreatorID, SenderID, "
                "DeliveryReport, RelativeValidity, InsertIntoDB, SendingDateTime, SendingTimeOut) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'), datetime('now', '-1 day'), datetime('now', '-1 day'))",
                (to, texts[0], coding, udh[0], "true" if multi else "false", self.creator, self.phone or None,
                 self.report, validity))
            outbox_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO outbox_multipart (ID, SequencePosition, TextDecoded, Coding, UDH) VALUES (?, ?, ?, ?, ?)",
                [(outbox_id, seq, texts[seq - 1], coding, udh[seq - 1]) for seq in range(2, len(texts) + 1)])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return outbox_id, len(texts)

    def _read_status(self) -> list[tuple[str, str, str, str]]:
        """(part id, stat, error, UpdatedInDB) of final statuses not reported yet."""
        assert self._db is not None
        since = self._since
        rows = self._db.execute(
            "SELECT ID, SequencePosition, Status, StatusError, UpdatedInDB FROM sentitems "
            "WHERE CreatorID = ? AND UpdatedInDB >= ? ORDER BY UpdatedInDB", (self.creator, since)).fetchall()
        pending_ids = {r[0] for r in rows if r[2] == "SendingError"}
        still_queued: set[int] = set()
        if pending_ids:
            marks = ",".join("?" * len(pending_ids))
            still_queued = {r[0] for r in self._db.execute(
                f"SELECT ID FROM outbox WHERE ID IN ({marks})", sorted(pending_ids))}  # noqa: S608
        out: list[tuple[str, str, str, str]] = []
        for id_, seq, status, status_error, updated in rows:
            updated = str(updated)
            if updated > self._since:
                self._since = updated
            key = (int(id_), int(seq))
            if self._seen.get(key, ("", ""))[0] == status:
                continue
            self._seen[key] = (status, updated)
            stat = SENT_STATUS.get(status)
            if stat is None or (status == "SendingError" and id_ in still_queued):
                continue  # not final (gammu-smsd retries SendingError while the outbox row exists)
            out.append((f"{id_}.{seq}", stat, str(status_error) if status_error not in (None, -1) else "", updated))
        # Rows can share a second: look again from the same second next time, and forget keys
        # older than that (they cannot come back).
        self._seen = {k: v for k, v in self._seen.items() if v[1] >= self._since}
        return out

    def _read_inbox(self, limit: int = 200) -> list[GammuMO]:
        assert self._db is not None
        sql = "SELECT ID, SenderNumber, TextDecoded, UDH, Coding, RecipientID FROM inbox WHERE Processed = 'false'"
        args: list[Any] = []
        if self.phone:
            sql += " AND RecipientID = ?"
            args.append(self.phone)
        rows = self._db.execute(sql + " ORDER BY ID LIMIT ?", (*args, limit)).fetchall()
        out = []
        for id_, sender, text, udh, coding, _recipient in rows:
            concat = None
            if udh:
                try:
                    concat = parse_udh(bytes.fromhex(udh))[0].concat
                except (ValueError, UdhError):
                    concat = None  # an odd header: keep the text as a message of its own
            out.append(GammuMO(source_addr=str(sender), destination_addr=self.number, text=str(text or ""),
                               concat=concat, gammu_id=int(id_), data_coding=8 if coding == "Unicode_No_Compression" else 0))
        return out

    def _mark_processed(self, ids: list[int]) -> None:
        assert self._db is not None
        marks = ",".join("?" * len(ids))
        self._db.execute(f"UPDATE inbox SET Processed = 'true' WHERE ID IN ({marks})", ids)  # noqa: S608

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ---------------------------------------------------------------- engine contract

    async def start(self) -> None:
        await self._run(self._connect)
        self._since = _watermark(datetime.now(UTC) - timedelta(seconds=self.lookback))
        self._bound = True
        self._task = asyncio.get_running_loop().create_task(self._poll_loop())

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._run(self._close_db)
        self._executor.shutdown(wait=False)

    async def submit(self, sender: str, to: str, text: str, *, valid_until: datetime | None = None) -> list[SubmitResult]:
        del sender  # a modem sends from its SIM's number; sender IDs cannot be masked
        validity = -1
        if valid_until is not None:
            left = (valid_until - datetime.now(UTC)).total_seconds()
            validity = relative_validity(left)
        try:
            outbox_id, parts = await self._run(self._insert, to, text, validity)
        except TransportError as exc:
            return [SubmitResult(1, 1, None, None, permanent=exc.permanent, error=str(exc))]
        except sqlite3.Error as exc:
            # Rolled back (busy, locked, disk full): nothing reached gammu-smsd; try again later.
            self.last_error = f"sqlite: {exc}"
            return [SubmitResult(1, 1, None, None, retry_after=2.0,
                                 error=_("Basis data Gammu sibuk atau gagal ditulis: %(e)s") % {"e": exc})]
        return [SubmitResult(seq, parts, f"{outbox_id}.{seq}", 0) for seq in range(1, parts + 1)]

    async def poll_once(self) -> tuple[int, int]:
        """Report new final statuses and hand over new inbox rows; returns (receipts, MOs)."""
        statuses = await self._run(self._read_status)
        if statuses:
            await asyncio.gather(*(self._on_receipt(pid, stat, err) for pid, stat, err, _u in statuses))
        mos = await self._run(self._read_inbox)
        if mos:
            # Processed only after the engine committed them: at least once, never lost.
            await asyncio.gather(*(self._on_mo(mo) for mo in mos))
            await self._run(self._mark_processed, [mo.gammu_id for mo in mos])
        return len(statuses), len(mos)

    async def _poll_loop(self) -> None:
        delay = self.poll_interval
        while not self._closing:
            try:
                await self.poll_once()
                self._bound = True
                self.last_error = ""
                delay = self.poll_interval
            except (sqlite3.Error, TransportError) as exc:
                # Busy database or an engine write that failed: the rows stay unprocessed and
                # are read again next time.
                self.last_error = str(exc)
                log.warning("gammu %s: poll failed: %s", self.path, exc)
                delay = min(delay * 2, 30.0)
            await asyncio.sleep(delay)


def open_bind(spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> GammuBind:
    return GammuBind(spec, on_receipt=on_receipt, on_mo=on_mo)


async def test(spec: ConnectionSpec, timeout: float = 10.0) -> dict[str, Any]:
    """Open gammu-smsd's database, check its schema, and report the phones gammu-smsd registered."""
    t0 = time.monotonic()

    def look() -> dict[str, Any]:
        bind = GammuBind(spec, on_receipt=_never, on_mo=_never)
        bind._connect()
        assert bind._db is not None
        phones = bind._db.execute("SELECT ID, Send, Receive, TimeOut FROM phones").fetchall()
        queued = bind._db.execute("SELECT COUNT(*) FROM outbox WHERE CreatorID = ?", (bind.creator,)).fetchone()[0]
        bind._close_db()
        return {"phones": [{"id": p[0], "send": p[1], "receive": p[2], "timeout": p[3]} for p in phones],
                "queued_in_gammu": queued}

    result = await asyncio.wait_for(asyncio.to_thread(look), timeout)
    result["seconds"] = round(time.monotonic() - t0, 4)
    return result


async def _never(*_args: Any) -> None:
    return None
