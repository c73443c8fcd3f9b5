"""Warta's client against an SMSC written with Debian's libnet-smpp-perl (Net::SMPP).

The Perl fixture (net_smpp_smsc.pl) shares no code with Warta: it binds us, answers submit_sm
with its own ids, sends a mobile-originated deliver_sm and a delivery receipt, and prints one
JSON line per PDU it received, which the test reads after the client has unbound.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.interop._tools import require_binary, require_perl_module
from warta.gateway.smppclient import (
    ClientConfig,
    DeliveryReceipt,
    MobileOriginated,
    SmppClient,
    SmppClientError,
)
from warta.smpp.constants import MessageState

pytestmark = pytest.mark.interop

FIXTURE = Path(__file__).with_name("net_smpp_smsc.pl")


async def _start_fixture(system_id: str, password: str) -> tuple[asyncio.subprocess.Process, int]:
    perl = require_binary("perl", "perl")
    require_perl_module("Net::SMPP", "libnet-smpp-perl")
    proc = await asyncio.create_subprocess_exec(
        perl,
        str(FIXTURE),
        system_id,
        password,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
    assert line.startswith("PORT "), line
    return proc, int(line.split()[1])


async def _finish(proc: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_client_interoperates_with_a_net_smpp_smsc() -> None:
    async def scenario() -> None:
        proc, port = await _start_fixture("warta", "rahasia")
        received: list[Any] = []
        cfg = ClientConfig(port=port, system_id="warta", password="rahasia", tick_interval=0.02)
        async with SmppClient(cfg, on_deliver=received.append) as client:
            (result,) = await client.submit("GubDKI", "+6281234567890", "Halo dari Warta")
            assert result.ok and result.message_id == "NS1"
            async with asyncio.timeout(5):
                while len(received) < 2:
                    await asyncio.sleep(0.02)
        records = await _finish(proc)
        commands = [r["command"] for r in records]
        assert commands[0] == "bind" and records[0]["ok"] and records[0]["command_id"] == 9
        submit = next(r for r in records if r["command"] == "submit_sm")
        assert bytes.fromhex(submit["short_message_hex"]) == b"Halo dari Warta"
        assert (submit["source_addr"], submit["source_addr_ton"], submit["source_addr_npi"]) == (
            "GubDKI",
            5,
            0,
        )
        assert (submit["destination_addr"], submit["dest_addr_ton"]) == ("6281234567890", 1)
        assert submit["registered_delivery"] == 1 and submit["data_coding"] == 0
        # Both deliver_sm were answered OK, and we unbound cleanly.
        assert [r["status"] for r in records if r["command"] == "deliver_sm_resp"] == [0, 0]
        assert "unbind" in commands
        mo = next(i for i in received if isinstance(i, MobileOriginated))
        assert mo.text == "INFO banjir Kampung Melayu" and mo.source_addr == "6281234567890"
        receipt = next(i for i in received if isinstance(i, DeliveryReceipt))
        assert receipt.message_id == "NS1" and receipt.state is MessageState.DELIVERED

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_client_bind_is_refused_by_a_net_smpp_smsc_with_wrong_password() -> None:
    async def scenario() -> None:
        proc, port = await _start_fixture("warta", "rahasia")
        try:
            with pytest.raises(SmppClientError) as caught:
                await SmppClient(
                    ClientConfig(port=port, system_id="warta", password="salah")
                ).start()
            assert caught.value.permanent and caught.value.status == 0x0E
        finally:
            records = await _finish(proc)
        assert records[0]["command"] == "bind" and not records[0]["ok"]

    asyncio.run(asyncio.wait_for(scenario(), 30))
