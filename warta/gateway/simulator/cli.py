"""Command line of the SMSC simulator: ``warta smsc-sim`` (or ``python -m warta.gateway.simulator``).

::

    warta smsc-sim [--port 2775] [--system-id warta] [--password secret] [--receipt-delay 1]
                   [--undeliv-share 0] [--reject-share 0] [--tps 0] [--fault MODE]…
                   [--lose-share 1] [--wrong-password-for S] [--outage-at S [--outage-for S]]
                   [--log FILE] [--http-port 2776]
    warta smsc-sim inject --from 081234567890 --to 02132881818 "Halo, banjir di Kampung Melayu"

The first form runs the simulator until Ctrl-C; the second posts a citizen's SMS to a running
simulator's ``/mo`` endpoint (127.0.0.1 only). Neither needs Django.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import urllib.error
import urllib.request

from warta.gateway.simulator._server import Fault, Simulator, SimulatorConfig, parse_faults

DEFAULT_PORT = 2775
DEFAULT_HTTP_PORT = 2776


def _run_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run Warta's SMSC simulator (SMPP 3.4 server). "
        f"Subcommand: '{prog} inject --from N --to N TEXT' sends a mobile-originated SMS.",
    )
    p.add_argument("--host", default="127.0.0.1", help="SMPP listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="SMPP port (0: any free port)")
    p.add_argument("--system-id", default="warta", help="account system_id (default warta)")
    p.add_argument("--password", default="secret", help="account password (default secret)")
    p.add_argument("--receipt-delay", type=float, default=1.0, help="seconds before a receipt")
    p.add_argument(
        "--undeliv-share", type=float, default=0.0, help="share of UNDELIV receipts (0..1)"
    )
    p.add_argument(
        "--reject-share", type=float, default=0.0, help="share of REJECTD receipts (0..1)"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for outcomes (default 1)")
    p.add_argument(
        "--tps", type=float, default=0.0, help="throttle above N submits/s per bind (0: off)"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="MODE",
        help="fault mode, repeatable: " + ", ".join(f.value for f in Fault),
    )
    p.add_argument(
        "--fault-after", type=int, default=10, help="submits before unbind/disconnect faults"
    )
    p.add_argument("--slow-ms", type=int, default=500, help="delay of the slow fault (ms)")
    p.add_argument(
        "--lose-share",
        type=float,
        default=1.0,
        help="share (0..1) of responses / receipts the lose-responses / lose-receipts faults drop",
    )
    p.add_argument(
        "--wrong-password-for",
        type=float,
        default=0.0,
        metavar="S",
        help="refuse every bind with ESME_RINVPASWD for the first S seconds, then accept",
    )
    p.add_argument(
        "--outage-at",
        type=float,
        default=None,
        metavar="S",
        help="S seconds after start, drop every connection and stop listening (an outage)",
    )
    p.add_argument(
        "--outage-for", type=float, default=5.0, metavar="S", help="length of the outage (s)"
    )
    p.add_argument(
        "--keep-receipts",
        action="store_true",
        help="keep undelivered receipts over the outage (default: they are lost)",
    )
    p.add_argument(
        "--message-id", choices=("hex", "decimal"), default="hex", help="message id format"
    )
    p.add_argument(
        "--log", default=None, metavar="FILE", help="JSON-lines log of every PDU received"
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help="MO injection port on 127.0.0.1 (-1: off)",
    )
    return p


def _inject_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{prog} inject",
        description="Send a mobile-originated SMS through a running simulator.",
    )
    p.add_argument(
        "--from", dest="source", required=True, help="the citizen's number, e.g. 081234567890"
    )
    p.add_argument("--to", dest="destination", required=True, help="our number, e.g. 02132881818")
    p.add_argument(
        "--http-port", type=int, default=DEFAULT_HTTP_PORT, help="the simulator's HTTP port"
    )
    p.add_argument("--system-id", default=None, help="deliver to a receiver of this account only")
    p.add_argument("text", nargs="+", help="the message text")
    return p


def inject(
    source: str, destination: str, text: str, *, http_port: int, system_id: str | None = None
) -> dict[str, object]:
    body = {"from": source, "to": destination, "text": text}
    if system_id:
        body["system_id"] = system_id
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/mo",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        result: dict[str, object] = json.load(resp)
        return result


async def _outage(sim: Simulator, at: float, length: float, lose_receipts: bool) -> None:
    await asyncio.sleep(at)
    print(f"outage: down for {length:g}s", flush=True)
    await sim.go_down(lose_receipts=lose_receipts)
    await asyncio.sleep(length)
    await sim.come_back()
    print("outage: listening again", flush=True)


async def _serve(
    config: SimulatorConfig,
    *,
    wrong_password_for: float = 0.0,
    outage: tuple[float, float, bool] | None = None,
) -> None:
    sim = Simulator(config)
    await sim.start()
    if wrong_password_for > 0:
        sim.reject_binds_for(wrong_password_for)
    tasks = []
    if outage is not None:
        tasks.append(asyncio.get_running_loop().create_task(_outage(sim, *outage)))
    http = f", MO injection on http://127.0.0.1:{sim.http_port}/mo" if sim.http_port else ""
    print(f"Warta SMSC simulator listening on {config.host}:{sim.port}{http}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await sim.stop()
        print(json.dumps({"counters": sim.counters}), flush=True)


def main(argv: list[str] | None = None, prog: str = "warta smsc-sim") -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["inject"]:
        a = _inject_parser(prog).parse_args(args_list[1:])
        try:
            result = inject(
                a.source,
                a.destination,
                " ".join(a.text),
                http_port=a.http_port,
                system_id=a.system_id,
            )
        except urllib.error.HTTPError as exc:
            print(
                f"simulator refused the message: {exc.code} {exc.read().decode(errors='replace')}",
                file=sys.stderr,
            )
            return 1
        except OSError as exc:
            print(f"no simulator on 127.0.0.1:{a.http_port}: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(result))
        return 0
    a = _run_parser(prog).parse_args(args_list)
    try:
        faults = parse_faults(a.fault)
        config = SimulatorConfig(
            host=a.host,
            port=a.port,
            http_port=None if a.http_port < 0 else a.http_port,
            accounts={a.system_id: a.password},
            message_id_format=a.message_id,
            receipt_delay=a.receipt_delay,
            undeliv_share=a.undeliv_share,
            reject_share=a.reject_share,
            seed=a.seed,
            tps=a.tps,
            faults=faults,
            fault_after=a.fault_after,
            slow_ms=a.slow_ms,
            lose_share=a.lose_share,
            log_path=a.log,
            log_keep=0,  # a long run must not grow in memory; the file has everything
        )
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return 2
    outage = None if a.outage_at is None else (a.outage_at, a.outage_for, not a.keep_receipts)
    asyncio.run(_serve(config, wrong_password_for=a.wrong_password_for, outage=outage))
    return 0
