"""The Gammu SMSD transport against a real ``gammu-smsd`` (Debian's package) on Gammu's dummy
phone driver, with the SQLite schema gammu-smsd ships.

The dummy driver keeps its "phone" in a directory: sending succeeds (reference 255) and is
recorded in ``sentitems``; a file in Gammu's backup format placed in ``sms/1/`` is a message in
the phone's inbox, which gammu-smsd reads into its ``inbox`` table (a ``Deliver`` PDU) or turns
into a delivery status in ``sentitems`` (a ``Status_Report`` PDU). The test writes both kinds.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.interop._tools import missing, require_binary

from .engine_harness import create_blast, db, states, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SCHEMA = Path("/usr/share/doc/gammu-smsd/examples/sqlite.sql")
DBD = [Path("/usr/lib/x86_64-linux-gnu/dbd/libdbdsqlite3.so"), Path("/usr/lib/aarch64-linux-gnu/dbd/libdbdsqlite3.so")]


def create_gammu_database(path: Path) -> Path:
    """gammu-smsd's own schema, as its package ships it (not a copy of ours)."""
    if not SCHEMA.exists():
        missing(f"{SCHEMA} not found: apt-get install gammu-smsd")
    with sqlite3.connect(path) as con:
        con.executescript(SCHEMA.read_text())
    return path


class GammuRig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.phone = tmp / "phone"
        self.db_path = tmp / "smsd.db"
        self.proc: asyncio.subprocess.Process | None = None
        self.engine: Any = None
        self.task: asyncio.Task[None] | None = None
        self._location = 0
        self.start_engine = True

    async def __aenter__(self) -> GammuRig:
        from warta.gateway import services
        from warta.gateway.engine import Engine

        binary = require_binary("gammu-smsd", "gammu-smsd")
        if not any(p.exists() for p in DBD):
            missing("libdbi's SQLite driver not found: apt-get install libdbd-sqlite3")
        create_gammu_database(self.db_path)
        self.phone.mkdir()
        conf = self.tmp / "smsdrc"
        conf.write_text(f"""[gammu]
device = {self.phone}
model = dummy
connection = none

[smsd]
service = sql
driver = sqlite3
database = {self.db_path.name}
dbdir = {self.tmp}
logfile = {self.tmp / "smsd.log"}
debuglevel = 1
phoneid = modem1
commtimeout = 1
sendtimeout = 5
receivefrequency = 1
statusfrequency = 0
loopsleep = 1
checksecurity = 0
checkbattery = 0
checksignal = 0
checknetwork = 0
""")
        # TZ=UTC: the status reports below carry UTC times, and gammu-smsd matches them against
        # the send time it wrote in local time.
        self.proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(conf), cwd=self.tmp, env={**os.environ, "TZ": "UTC"},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        if not self.start_engine:
            return self
        await db(services.add_connection, "gammu-uji",
                 f"gammu+sqlite://{self.db_path}?number=02132881818&phone=modem1&poll=0.1&tps=0")
        self.engine = Engine(connections=["gammu-uji"], lease_seconds=3.0, heartbeat_seconds=0.2,
                             idle_poll=0.02, drain_timeout=3.0)
        self.task = asyncio.get_running_loop().create_task(self.engine.run(install_signals=False))
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.engine is not None and self.task is not None:
                self.engine.stop()
                await asyncio.wait_for(self.task, 15)
        finally:
            if self.proc is not None and self.proc.returncode is None:
                self.proc.terminate()
                try:
                    await asyncio.wait_for(self.proc.wait(), 5)
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path, timeout=5) as con:
            return con.execute(sql, args).fetchall()

    def phone_receives(self, pdu: str, number: str, text: str, *, smsc: str = "123456", reference: int = 0) -> None:
        """Put a message into the dummy phone's inbox (Gammu's SMS backup format)."""
        self._location += 1
        body = text.encode("utf-16-be").hex().upper()
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        tmp = self.phone / "sms" / "1" / f".new{self._location}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(f"""[SMSBackup000]
PDU = {pdu}
DateTime = {now}
SMSC = "{smsc}"
State = UnRead
Number = "{number}"
Text00 = {body}
Coding = Default_No_Compression
Folder = 1
Class = -1
MessageReference = {reference}
""")
        tmp.rename(tmp.with_name(str(self._location)))  # whole file or nothing for gammu-smsd

    def log_tail(self) -> str:
        log = self.tmp / "smsd.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""


LONG = ("Pemberitahuan Pemprov DKI Jakarta: layanan kesehatan gratis di Puskesmas Kecamatan Tanah Abang "
        "dibuka Sabtu 08.00–14.00 WIB 🙏 Bawa KTP dan kartu BPJS. Info: 021 3288 1818")


def test_a_blast_goes_out_through_gammu_smsd_and_its_status_reports_deliver_it(transactional_db, tmp_path):
    from warta.blasts.models import MessagePart

    async def scenario() -> tuple[Any, GammuRig]:
        async with GammuRig(tmp_path) as rig:
            blast = await db(create_blast, ["+6281234567890", "+6281234567891"], text="Uji modem Warta €")
            try:
                # gammu-smsd sent both via the dummy phone; with a report requested they wait.
                await wait_until(lambda: len(rig.rows("SELECT 1 FROM sentitems WHERE Status='SendingOK'")) == 2,
                                 timeout=20)
            except AssertionError:
                pytest.fail(f"gammu-smsd did not send: {rig.rows('SELECT * FROM outbox')} {rig.rows('SELECT * FROM sentitems')}\n" + rig.log_tail())
            await asyncio.sleep(0.5)
            assert await db(states, blast.pk) == {"submitted": 2}
            rig.phone_receives("Status_Report", "+6281234567890", "Delivered", reference=255)
            rig.phone_receives("Status_Report", "+6281234567891", "Failed", reference=255)
            try:
                await wait_until(lambda: states(blast.pk) == {"delivered": 1, "undelivered": 1}, timeout=15)
            except AssertionError:
                # (states read through db(): a sync ORM call here raised SynchronousOnlyOperation
                # and hid what the failure was)
                pytest.fail(f"{await db(states, blast.pk)}\n" + rig.log_tail())
            return blast, rig

    blast, rig = asyncio.run(scenario())
    sent = rig.rows("SELECT ID, SequencePosition, Status, DestinationNumber, Coding, UDH, TextDecoded, CreatorID "
                    "FROM sentitems ORDER BY DestinationNumber")
    assert [(r[1], r[2], r[3]) for r in sent] == [
        (1, "DeliveryOK", "+6281234567890"), (1, "DeliveryFailed", "+6281234567891")]
    assert all(r[4] == "Default_No_Compression" and r[5] == "" and r[6] == "Uji modem Warta €" for r in sent)
    assert {r[7] for r in sent} == {"warta"}
    assert rig.rows("SELECT COUNT(*) FROM outbox") == [(0,)]
    ids = sorted(MessagePart.objects.filter(message__blast=blast).values_list("smsc_message_id", flat=True))
    assert ids == sorted(f"{r[0]}.1" for r in sent)
    assert dict(blast.messages.values_list("to", "state")) == {
        "+6281234567890": "delivered", "+6281234567891": "undelivered"}


def test_a_long_text_goes_as_one_outbox_row_with_its_multipart_rows_and_reports_per_part(tmp_path):
    """The bind alone (no engine): the concatenated parts reach gammu-smsd whole and in order."""
    from warta.gateway.transports import parse_url
    from warta.gateway.transports.gammu import open_bind
    from warta.sms.segments import split_text

    receipts: list[tuple[str, str]] = []
    _encoding, texts = split_text(LONG)
    n = len(texts)
    assert n > 1

    async def on_receipt(smsc_id: str, stat: str, _error: str) -> None:
        receipts.append((smsc_id, stat))

    async def on_mo(_item: Any) -> None:
        return None

    async def scenario() -> tuple[list[Any], GammuRig]:
        rig = GammuRig(tmp_path)
        rig.start_engine = False
        async with rig:
            bind = open_bind(parse_url(f"gammu+sqlite://{rig.db_path}?poll=0.1"), on_receipt=on_receipt, on_mo=on_mo)
            await bind.start()
            try:
                results = await bind.submit("HumasDKI", "+6281234567891", LONG)
                assert [(r.ok, r.part, r.parts) for r in results] == [(True, i, n) for i in range(1, n + 1)]
                waiting = rig.rows("SELECT MultiPart FROM outbox") + rig.rows("SELECT SequencePosition FROM outbox_multipart")
                assert waiting in ([("true",), *[(i,) for i in range(2, n + 1)]], [])  # gammu-smsd may have taken it
                try:
                    await wait_until(lambda: len(rig.rows("SELECT 1 FROM sentitems WHERE Status='SendingOK'")) == n,
                                     timeout=20)
                except AssertionError:
                    pytest.fail(f"gammu-smsd did not send: {rig.rows('SELECT * FROM outbox')} {rig.rows('SELECT * FROM sentitems')}\n" + rig.log_tail())
                rig.phone_receives("Status_Report", "+6281234567891", "Delivered", reference=255)
                deadline = asyncio.get_running_loop().time() + 15
                while len(receipts) < n and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.1)
            finally:
                await bind.close()
            return results, rig

    results, rig = asyncio.run(scenario())
    sent = rig.rows("SELECT ID, SequencePosition, Coding, UDH, TextDecoded FROM sentitems ORDER BY SequencePosition")
    udh = [bytes.fromhex(r[3]) for r in sent]
    # One concatenation header per part: 05 00 03, one reference, n parts, its sequence.
    assert [u[:3] for u in udh] == [b"\x05\x00\x03"] * n and len({u[3] for u in udh}) == 1
    assert [u[4:] for u in udh] == [bytes((n, i)) for i in range(1, n + 1)]
    assert all(r[2] == "Unicode_No_Compression" for r in sent) and "".join(r[4] for r in sent) == LONG
    assert [r.message_id for r in results] == [f"{sent[0][0]}.{i}" for i in range(1, n + 1)]
    assert sorted(receipts) == [(f"{sent[0][0]}.{i}", "DELIVRD") for i in range(1, n + 1)]


def test_a_citizens_sms_in_the_modem_reaches_the_inbox_and_is_marked_processed(transactional_db, tmp_path):
    from warta.inbox.models import Message

    def received() -> bool:
        return Message.objects.filter(direction="in").exists()

    async def scenario() -> GammuRig:
        async with GammuRig(tmp_path) as rig:
            rig.phone_receives("Deliver", "+6281298765432", "LAPOR jalan rusak di Cilincing 🙏", smsc="+6281100000")
            try:
                await wait_until(received, timeout=15)
                await wait_until(lambda: rig.rows("SELECT Processed FROM inbox") == [("true",)], timeout=5)
            except AssertionError:
                pytest.fail("no MO:\n" + rig.log_tail())
            return rig

    asyncio.run(scenario())
    (mo,) = Message.objects.filter(direction="in")
    assert (mo.text, mo.connection, mo.destination) == ("LAPOR jalan rusak di Cilincing 🙏", "gammu-uji", "02132881818")
    assert mo.conversation.address == "+6281298765432"


def test_gammu_urls_are_checked_when_added():
    from warta.gateway.transports import ConnectionURLError, parse_url

    spec = parse_url("gammu+sqlite:///var/lib/gammu/smsd.db?number=02132881818&report=no&poll=0.5")
    assert spec.path == "/var/lib/gammu/smsd.db" and spec.window == 1 and spec.tps == 1.0
    with pytest.raises(ConnectionURLError, match="tiga garis miring"):
        parse_url("gammu+sqlite://var/lib/gammu/smsd.db")
    with pytest.raises(ConnectionURLError, match="report"):
        parse_url("gammu+sqlite:///x.db?report=maybe")
    with pytest.raises(ConnectionURLError, match="numbr"):
        parse_url("gammu+sqlite:///x.db?numbr=1")


@pytest.mark.parametrize(("seconds", "octet"), [
    (60, 0), (300, 0), (3600, 11), (12 * 3600, 143), (24 * 3600, 167), (2 * 86400, 168), (30 * 86400, 196),
    (35 * 86400, 197), (10**9, 255)])
def test_validity_is_written_as_gsm_relative_validity_rounded_down(seconds, octet):
    from warta.gateway.transports.gammu import relative_validity

    assert relative_validity(seconds) == octet


def test_a_missing_gammu_database_is_not_created_but_reported(tmp_path):
    from warta.gateway.transports import TransportError, parse_url
    from warta.gateway.transports.gammu import open_bind

    async def scenario() -> None:
        async def never(*_a: Any) -> None:
            return None

        bind = open_bind(parse_url(f"gammu+sqlite://{tmp_path / 'tidak-ada.db'}"), on_receipt=never, on_mo=never)
        with pytest.raises(TransportError, match="sqlite.sql"):
            await bind.start()
        await bind.close()

    asyncio.run(scenario())
    assert not (tmp_path / "tidak-ada.db").exists()
