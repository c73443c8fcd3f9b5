"""The simulator against PyPI's smpplib, a synchronous SMPP client that shares no code with Warta.

smpplib runs in a worker thread (it blocks on its socket) while the simulator runs in the
test's event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from tests.interop._tools import missing
from warta.gateway.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.interop


def _smpplib() -> Any:
    if importlib.util.find_spec("smpplib") is None:
        missing("smpplib not installed: pip install -r requirements.lock (dev extra)")
    import smpplib.client
    import smpplib.consts
    import smpplib.exceptions

    return smpplib


def _session(port: int, password: str) -> dict[str, Any]:
    smpplib = _smpplib()
    out: dict[str, Any] = {"received": []}
    client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    client.set_message_sent_handler(
        lambda pdu, **kw: out.setdefault("message_id", pdu.message_id.decode())
    )
    client.set_message_received_handler(lambda pdu, **kw: out["received"].append(pdu))
    client.connect()
    try:
        try:
            client.bind_transceiver(system_id="warta", password=password)
        except smpplib.exceptions.PDUError as exc:
            out["bind_error"] = exc.args[1]
            return out
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr_npi=smpplib.consts.SMPP_NPI_UNK,
            source_addr="GubDKI",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr="6281234567890",
            short_message=b"Halo dari smpplib",
            data_coding=0,
            registered_delivery=1,
        )
        while "message_id" not in out or not out["received"]:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return out


def test_simulator_serves_smpplib_submit_and_receipt() -> None:
    _smpplib()

    async def scenario() -> None:
        async with Simulator(SimulatorConfig(receipt_delay=0.05)) as sim:
            out = await asyncio.get_running_loop().run_in_executor(
                None, _session, sim.port, "secret"
            )
            (submit,) = sim.log.find(command="submit_sm")
            assert bytes.fromhex(submit["short_message"]) == b"Halo dari smpplib"
            assert submit["destination_addr"] == "6281234567890" and submit["source_addr_ton"] == 5
            assert out["message_id"] == submit["message_id"]
            (receipt,) = out["received"]
            assert receipt.receipted_message_id.decode().rstrip("\0") == submit["message_id"]
            assert b"stat:DELIVRD" in receipt.short_message and receipt.esm_class == 0x04
            assert sim.log.find(command="unbind")

    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_simulator_refuses_smpplib_bind_with_wrong_password() -> None:
    _smpplib()

    async def scenario() -> None:
        async with Simulator() as sim:
            out = await asyncio.get_running_loop().run_in_executor(
                None, _session, sim.port, "wrong"
            )
            assert out["bind_error"] == 0x0E  # ESME_RINVPASWD

    asyncio.run(asyncio.wait_for(scenario(), 15))
