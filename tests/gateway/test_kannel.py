"""The Kannel transport against a real Kannel (Debian's bearerbox + smsbox) whose SMSC is Warta's
simulator, with Warta's callbacks served by pytest-django's live server.

    engine ──sendsms──▶ smsbox ──▶ bearerbox ──SMPP──▶ simulator
    outbox ◀─dlr-url── smsbox ◀── bearerbox ◀─receipt── simulator
    inbox  ◀─get-url── smsbox ◀── bearerbox ◀─deliver_sm (MO)── simulator

Kannel cannot pick free ports itself, so the test picks them just before starting it; all
traffic is on 127.0.0.1 and the generated kannel.conf lives in tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.interop._tools import free_port, kannel_conf, require_binary
from warta.gateway.simulator import Simulator, SimulatorConfig
from warta.sms.gsm import decode_gsm7

from .engine_harness import create_blast, db, states, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SECRET = "kannel-uji-0123456789abcdef"


class KannelRig:
    """Simulator + bearerbox + smsbox + a Kannel connection + an engine, in one event loop."""

    def __init__(self, tmp: Path, live_url: str) -> None:
        self.tmp = tmp
        self.live_url = live_url
        self.sim = Simulator(SimulatorConfig(accounts={"kannel": "kpass"}, message_id_format="decimal",
                                             receipt_delay=0.3, log_keep=10_000))
        self.procs: list[asyncio.subprocess.Process] = []
        self.engine: Any = None
        self.task: asyncio.Task[None] | None = None
        self.connection: Any = None
        self.logs = [tmp / "bearerbox.log", tmp / "smsbox.log"]

    async def __aenter__(self) -> KannelRig:
        from warta.gateway import services
        from warta.gateway.engine import Engine
        from warta.gateway.transports import kannel

        bearerbox = require_binary("bearerbox", "kannel")
        smsbox = require_binary("smsbox", "kannel")
        await self.sim.start()
        admin, box, sendsms = free_port(), free_port(), free_port()
        url = (f"kannel://warta:kanpw@127.0.0.1:{sendsms}?secret={SECRET}&callback={self.live_url}"
               f"&dlr-mask=31&window=8")
        self.connection = await db(services.add_connection, "kannel-uji", url)
        conf = kannel_conf(self.tmp, sim_port=self.sim.port, admin=admin, box=box, sendsms=sendsms,
                           user="warta", password="kanpw", max_messages=10,
                           service=f'get-url = "{kannel.mo_get_url(url)}"\nmax-messages = 0\ncatch-all = true')
        for binary in (bearerbox, smsbox):
            self.procs.append(await asyncio.create_subprocess_exec(
                binary, str(conf), cwd=self.tmp,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))
            await asyncio.sleep(0.3)  # smsbox must find bearerbox listening
        await self.eventually(lambda: self.sim.counters["binds"] >= 1, 15, "Kannel to bind to the simulator")
        self.engine = Engine(connections=["kannel-uji"], lease_seconds=3.0, heartbeat_seconds=0.2,
                             idle_poll=0.02, drain_timeout=3.0)
        self.task = asyncio.get_running_loop().create_task(self.engine.run(install_signals=False))
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.engine is not None and self.task is not None:
                self.engine.stop()
                await asyncio.wait_for(self.task, 15)
        finally:
            for proc in reversed(self.procs):
                if proc.returncode is None:
                    proc.terminate()
            for proc in self.procs:
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            await self.sim.stop()

    async def eventually(self, check: Any, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not check():
                    await asyncio.sleep(0.05)
        except TimeoutError:
            tails = "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-20:])
                              for p in self.logs if p.exists())
            pytest.fail(f"timed out waiting for {what}\n{tails}")

    def submits(self) -> list[dict[str, Any]]:
        return self.sim.log.find(command="submit_sm")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (127.0.0.1 only)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_blast_through_kannel_is_submitted_and_delivered_by_kannels_dlr_url(transactional_db, live_server, tmp_path):
    from warta.blasts.models import MessagePart, OutboundMessage

    recipients = ["+6281234567890", "+6281234567891"]

    async def scenario() -> Any:
        async with KannelRig(tmp_path, live_server.url) as rig:
            blast = await db(create_blast, recipients, text="Banjir surut, warga dapat kembali ke rumah")
            await wait_until(lambda: states(blast.pk) == {"delivered": 2}, timeout=20)
            return blast, rig.submits()

    blast, submits = asyncio.run(scenario())
    assert sorted(s["destination_addr"].lstrip("+") for s in submits) == ["6281234567890", "6281234567891"]
    assert {decode_gsm7(bytes.fromhex(s["short_message"])) for s in submits} == {
        "Banjir surut, warga dapat kembali ke rumah"}
    assert all(s["source_addr"] == "HumasDKI" and s["registered_delivery"] & 1 for s in submits)
    parts = MessagePart.objects.filter(message__blast=blast)
    assert parts.count() == 2 and all(len(p.smsc_message_id) == 20 for p in parts)
    assert all(m.done_at is not None for m in OutboundMessage.objects.filter(blast=blast))


def test_a_citizens_sms_reaches_the_inbox_through_kannels_get_url(transactional_db, live_server, tmp_path):
    from warta.inbox.models import Message

    async def scenario() -> None:
        async with KannelRig(tmp_path, live_server.url) as rig:
            rig.sim.inject_mo("6281298765432", "02132881818", "LAPOR banjir di Kampung Melayu")
            rig.sim.inject_mo("6281298765433", "02132881818", "Terima kasih 🙏 atas infonya")
            await wait_until(lambda: Message.objects.filter(direction="in").count() >= 2, timeout=15)

    asyncio.run(scenario())
    texts = {m.text: m for m in Message.objects.filter(direction="in")}
    assert set(texts) == {"LAPOR banjir di Kampung Melayu", "Terima kasih 🙏 atas infonya"}
    assert all(m.connection == "kannel-uji" for m in texts.values())


def test_a_callback_with_a_wrong_token_gets_403_and_changes_nothing(transactional_db, live_server):
    from django.utils import timezone

    from warta.blasts.models import MessagePart, OutboundMessage, Receipt
    from warta.gateway import services
    from warta.gateway.transports import kannel
    from warta.inbox.models import Message

    url = f"kannel://warta:kanpw@127.0.0.1:9?secret={SECRET}&callback={live_server.url}"
    conn = services.add_connection("kannel-uji", url)
    blast = create_blast(["+6281234567890"])
    msg = OutboundMessage.objects.get(blast=blast)
    now = timezone.now()
    OutboundMessage.objects.filter(pk=msg.pk).update(state="submitted", connection=conn, sent_at=now,
                                                     submitted_at=now)
    MessagePart.objects.create(message=msg, connection=conn, smsc_message_id="a" * 20, part=1, parts=1,
                               submitted_at=now)
    spec = kannel.parse(url)
    good = kannel.dlr_url(spec, "a" * 20).replace("%d", "1").replace("%A", "").replace("%T", "0").replace("%i", "x")
    forged = [good.replace(kannel.dlr_token(SECRET, "a" * 20), "0" * 32),  # wrong token
              good.replace("m=" + "a" * 20, "m=" + "b" * 20),  # token of another message
              good.replace(kannel.connection_key(SECRET), "0" * 16),  # unknown connection
              good.split("&token=")[0] + "&type=1"]  # no token
    for bad in forged:
        assert _get(bad) == 403, bad
    mo = kannel.mo_get_url(spec).replace("%p", "6281298765432").replace("%P", "02132881818").replace(
        "%b", "PALSU").replace("%c", "0").replace("%C", "UTF-8").replace("%i", "x").replace("%I", "1")
    assert _get(mo.replace(kannel.mo_token(SECRET), "f" * 32)) == 403
    assert OutboundMessage.objects.get(pk=msg.pk).state == "submitted"
    assert not Receipt.objects.exists() and not Message.objects.exists()

    assert _get(good) == 200  # the real one works, once
    assert OutboundMessage.objects.get(pk=msg.pk).state == "delivered"
    assert _get(mo) == 200 and _get(mo) == 200  # a repeated MO (same Kannel id) is stored once
    assert Message.objects.filter(direction="in").count() == 1


@pytest.mark.parametrize(("dlr_type", "answer", "stat"), [
    (1, "id:1 stat:DELIVRD err:000", "DELIVRD"),
    (2, "id:1 stat:UNDELIV err:001", "UNDELIV"),
    (2, "id:1 stat:EXPIRED err:000", "EXPIRED"),
    (2, "", "UNDELIV"),
    (4, "", "ENROUTE"),
    (8, "ACK/", "ACCEPTD"),
    (16, "NACK/0x00000045/Submit failed", "REJECTD"),
    (32, "", None),
])
def test_kannel_dlr_types_map_to_receipt_words(dlr_type, answer, stat):
    from warta.gateway.transports import kannel

    assert kannel.receipt_stat(dlr_type, answer) == stat


def test_a_kannel_url_without_a_secret_or_callback_is_refused_at_once():
    from warta.gateway.transports import ConnectionURLError, parse_url

    with pytest.raises(ConnectionURLError, match="secret="):
        parse_url("kannel://warta:pw@10.0.0.5:13013")
    with pytest.raises(ConnectionURLError, match="callback="):
        parse_url(f"kannel://warta:pw@10.0.0.5:13013?secret={SECRET}")
    with pytest.raises(ConnectionURLError, match="dlr-mask"):
        parse_url(f"kannel://warta:pw@10.0.0.5:13013?dlr_mask=3&secret={SECRET}")
    assert parse_url("kannel://warta:pw@10.0.0.5:13013?dlr-mask=0").port == 13013


def test_kannel_gets_utf8_with_ucs2_coding_only_when_the_text_needs_it():
    from urllib.parse import parse_qs

    from warta.gateway.transports import kannel

    spec = kannel.parse(f"kannel://warta:pw@10.0.0.5:13013?secret={SECRET}&callback=http://w:8000&smsc=tsel")
    bind = kannel.open_bind(spec)
    plain = parse_qs(bind.query("HumasDKI", "+6281234567890", "Halo €", "m1", None))
    emoji = parse_qs(bind.query("HumasDKI", "+6281234567890", "Halo 🙏", "m1", None))
    assert plain["text"] == ["Halo €"] and plain["charset"] == ["UTF-8"] and "coding" not in plain
    assert emoji["text"] == ["Halo 🙏"] and emoji["coding"] == ["2"]
    assert plain["smsc"] == ["tsel"] and plain["dlr-mask"] == ["31"]
    assert plain["dlr-url"][0].startswith("http://w:8000/gateway/kannel/") and "type=%d" in plain["dlr-url"][0]
    with contextlib.suppress(KeyError):
        assert SECRET not in plain["dlr-url"][0]
