"""SMPP throughput: Warta's asyncio client against the built-in simulator on 127.0.0.1.

    python bench/smpp_throughput.py [COUNT] [--window N] [--receipt-delay S] [--same-process]
                                    [--personalised] [--log FILE] [--profile OUT.prof]
                                    [--sim-profile OUT.prof]

Sends COUNT (default 100,000) submit_sm with registered_delivery=1 and waits for every receipt.
The simulator runs in a child process by default (``python -m warta.gateway.simulator``), so
client and SMSC do not share one core. Prints submits/s, response latency p50/p99, receipts
received, and peak RSS of both processes.

Latency is measured per submit from the moment it has a window slot (``concurrency`` workers =
``window``, so no submit waits for a slot) to its submit_sm_resp.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warta.gateway.simulator import Simulator, SimulatorConfig  # noqa: E402
from warta.gateway.smppclient import ClientConfig, SmppClient  # noqa: E402

FIXED_TEXT = "Halo Jakarta, ini pesan uji"


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


async def _run(args: argparse.Namespace) -> dict[str, float]:
    sim: Simulator | None = None
    child: subprocess.Popen[str] | None = None
    if args.same_process:
        sim = Simulator(
            SimulatorConfig(receipt_delay=args.receipt_delay, log_keep=0, log_path=args.log)
        )
        await sim.start()
        port = sim.port
    else:
        profile = ["-m", "cProfile", "-o", args.sim_profile] if args.sim_profile else []
        cmd = [
            sys.executable, *profile, "-m", "warta.gateway.simulator", "--port", "0", "--http-port", "-1",
            "--receipt-delay", str(args.receipt_delay),
        ]  # fmt: skip
        if args.log:
            cmd += ["--log", args.log]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"listening on [\d.]+:(\d+)", line)
        if not match:
            raise SystemExit(f"simulator did not start: {line!r}")
        port = int(match.group(1))

    receipts = 0
    done = asyncio.Event()

    def on_deliver(_item: object) -> None:
        nonlocal receipts
        receipts += 1
        if receipts >= args.count:
            done.set()

    cfg = ClientConfig(
        port=port, system_id="warta", password="secret", window=args.window,
        response_timeout=30, enquire_link_interval=30, tick_interval=0.1,
    )  # fmt: skip
    latencies: list[float] = []
    failures = 0
    async with SmppClient(cfg, on_deliver=on_deliver) as client:
        remaining = args.count
        clock = time.perf_counter

        async def worker() -> None:
            nonlocal remaining, failures
            submit = client.submit
            personalised = args.personalised
            append = latencies.append
            while remaining > 0:
                remaining -= 1
                t0 = clock()
                text = (
                    f"Halo Jakarta, ini pesan uji nomor {remaining}" if personalised else FIXED_TEXT
                )
                (result,) = await submit("GubDKI", "6281234567890", text)
                append(clock() - t0)
                if not result.ok:
                    failures += 1

        start = clock()
        await asyncio.gather(*(worker() for _ in range(args.window)))
        elapsed = clock() - start
        try:
            await asyncio.wait_for(done.wait(), args.receipt_delay + 60)
        except TimeoutError:
            pass
        receipts_elapsed = clock() - start

    if sim is not None:
        await sim.stop()
    if child is not None:
        child.send_signal(signal.SIGINT)
        child.wait(30)
    latencies.sort()
    return {
        "submits": args.count,
        "failures": failures,
        "seconds": elapsed,
        "submits_per_s": args.count / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "receipts": receipts,
        "receipts_per_s": receipts / receipts_elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--receipt-delay", type=float, default=0.5)
    parser.add_argument(
        "--same-process", action="store_true", help="run the simulator in this process"
    )
    parser.add_argument(
        "--personalised",
        action="store_true",
        help="a different text per message (no segment-plan cache hits)",
    )
    parser.add_argument("--log", default=None, help="simulator JSON-lines log file (default: none)")
    parser.add_argument(
        "--profile", default=None, help="write a cProfile of the client to this file"
    )
    parser.add_argument(
        "--sim-profile", default=None, help="write a cProfile of the simulator to this file"
    )
    args = parser.parse_args()

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    r = asyncio.run(_run(args))
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)

    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    where = "same process" if args.same_process else "separate process"
    texts = "personalised texts" if args.personalised else "one text"
    print(
        f"SMPP throughput: {r['submits']:,} submit_sm ({texts}), window {args.window}, simulator in a {where}"
    )
    print(
        f"  submits/s            {r['submits_per_s']:>12,.0f}   ({r['seconds']:.2f} s, {r['failures']} failed)"
    )
    print(f"  response latency     p50 {r['p50_ms']:.2f} ms   p99 {r['p99_ms']:.2f} ms")
    print(
        f"  receipts received    {r['receipts']:>12,}   ({r['receipts_per_s']:,.0f}/s end to end)"
    )
    print(
        f"  peak RSS             client {self_kb / 1024:.0f} MiB   simulator {child_kb / 1024:.0f} MiB"
    )
    print(f"  cpus                 {os.cpu_count()}")


if __name__ == "__main__":
    main()
