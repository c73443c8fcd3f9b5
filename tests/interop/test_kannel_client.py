"""The simulator with Debian's Kannel as its client (bearerbox + smsbox, ``smsc = smpp``).

Kannel shares no code with Warta. The test writes a kannel.conf in tmp_path that points
bearerbox's SMPP connection at the simulator, starts bearerbox and smsbox, and then:

1. sends an SMS through smsbox's HTTP sendsms (127.0.0.1) with a dlr-url and checks that the
   simulator logged the submit_sm with that text and destination, and that Kannel matched the
   simulator's receipt and called the dlr-url with "delivered";
2. injects a mobile-originated SMS into the simulator and checks that Kannel received it: its
   catch-all sms-service answers with a fixed text, which comes back to the simulator as a
   submit_sm addressed to the citizen.

All ports are on 127.0.0.1; Kannel cannot be told to pick a free port itself, so the test picks
free ones just before starting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from tests.interop._tools import free_port, kannel_conf, require_binary
from warta.gateway.simulator import Simulator, SimulatorConfig
from warta.sms.gsm import decode_gsm7

pytestmark = pytest.mark.interop

REPLY = "Terima kasih, laporan Anda kami terima"


async def _eventually(check: Any, timeout: float, what: str, logs: list[Path]) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        tails = "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
            for p in logs
            if p.exists()
        )
        pytest.fail(f"timed out waiting for {what}\n{tails}")


def test_kannel_sends_through_the_simulator_and_gets_receipts_and_mo(tmp_path: Path) -> None:
    bearerbox = require_binary("bearerbox", "kannel")
    smsbox = require_binary("smsbox", "kannel")

    async def scenario() -> None:
        dlrs: list[dict[str, str]] = []

        async def on_dlr(request: web.Request) -> web.Response:
            dlrs.append(dict(request.query))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/dlr", on_dlr)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        dlr_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", dlr_port).start()

        sim_cfg = SimulatorConfig(
            accounts={"kannel": "kpass"}, message_id_format="decimal", receipt_delay=0.2
        )
        procs: list[asyncio.subprocess.Process] = []
        logs = [tmp_path / "bearerbox.log", tmp_path / "smsbox.log"]
        async with Simulator(sim_cfg) as sim:
            admin, box, sendsms = free_port(), free_port(), free_port()
            conf = kannel_conf(tmp_path, sim_port=sim.port, admin=admin, box=box, sendsms=sendsms, user="tester",
                               password="foobar", max_messages=3, service=f'text = "{REPLY}"\nmax-messages = 1')
            try:
                for binary in (bearerbox, smsbox):
                    procs.append(
                        await asyncio.create_subprocess_exec(
                            binary,
                            str(conf),
                            cwd=tmp_path,
                            stdout=asyncio.subprocess.DEVNULL,
                            stderr=asyncio.subprocess.DEVNULL,
                        )  # fmt: skip
                    )
                    await asyncio.sleep(0.3)  # smsbox must find bearerbox listening
                await _eventually(lambda: sim.counters["binds"] >= 1, 15, "Kannel to bind", logs)

                # 1. MT through sendsms, with a delivery report.
                dlr_url = f"http://127.0.0.1:{dlr_port}/dlr?type=%d&ts=%T"
                query = urllib.parse.urlencode(
                    {
                        "username": "tester",
                        "password": "foobar",
                        "from": "GubDKI",
                        "to": "6281234567890",
                        "text": "Halo dari Kannel",
                        "dlr-mask": "3",
                        "dlr-url": dlr_url,
                    }  # fmt: skip
                )
                async with ClientSession() as http:
                    for _ in range(100):  # smsbox opens its HTTP port a moment after it starts
                        with contextlib.suppress(OSError):
                            async with http.get(
                                f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms?{query}"
                            ) as resp:
                                body = await resp.text()
                                break
                        await asyncio.sleep(0.1)
                    else:
                        pytest.fail("smsbox never opened its sendsms port")
                assert resp.status == 202 and "Accepted" in body, body

                await _eventually(
                    lambda: sim.log.find(command="submit_sm"), 10, "Kannel's submit_sm", logs
                )
                (submit,) = sim.log.find(command="submit_sm")
                assert submit["destination_addr"] == "6281234567890"
                assert submit["source_addr"] == "GubDKI" and submit["source_addr_ton"] == 5
                assert decode_gsm7(bytes.fromhex(submit["short_message"])) == "Halo dari Kannel"
                assert submit["registered_delivery"] & 0x01
                await _eventually(
                    lambda: any(d.get("type") == "1" for d in dlrs),
                    10,
                    "Kannel's delivered DLR",
                    logs,
                )

                # 2. MO: the simulator delivers it, Kannel's catch-all service replies.
                sim.inject_mo("081234567890", "02132881818", "INFO banjir Kampung Melayu")
                await _eventually(
                    lambda: any(
                        decode_gsm7(bytes.fromhex(r["short_message"])) == REPLY for r in sim.log.find(command="submit_sm")
                    ),
                    10, "Kannel's reply to the MO", logs,
                )  # fmt: skip
                reply = sim.log.find(command="submit_sm")[-1]
                assert reply["destination_addr"].lstrip("+") == "6281234567890"
                assert sim.counters["mo_sent"] == 1
                assert [r["status"] for r in sim.log.find(command="deliver_sm_resp")] == [0, 0]
            finally:
                for proc in reversed(procs):
                    if proc.returncode is None:
                        proc.terminate()
                for proc in procs:
                    try:
                        await asyncio.wait_for(proc.wait(), 5)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
        await runner.cleanup()

    asyncio.run(asyncio.wait_for(scenario(), 60))
