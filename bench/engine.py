"""The delivery engine, end to end: N queued messages to the SMSC simulator, receipts included.

Run::

    .venv/bin/python bench/engine.py                       # SQLite, one engine, 100,000 messages
    .venv/bin/python bench/engine.py --postgres postgres://postgres@127.0.0.1:5432/postgres --engines 2
    .venv/bin/python bench/engine.py -n 20000 --window 256 --binds 2

Prints, from the database afterwards: messages/s from the first ``sending`` mark to the last final
state, receipt-to-final lag (final state time minus the simulator's receipt time, which is
submit + receipt delay), and each engine's peak RSS (VmHWM). The engine(s) and the simulator
are separate processes, as in production; a fresh database is created for the run
(PostgreSQL: database ``warta_bench_engine``, dropped and recreated).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--postgres", default=None, help="server URL; the bench creates database warta_bench_engine")
    ap.add_argument("--engines", type=int, default=1)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--binds", type=int, default=2)
    ap.add_argument("--receipt-delay", type=float, default=0.5)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-"))
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS warta_bench_engine WITH (FORCE)")
            c.execute("CREATE DATABASE warta_bench_engine")
        db_url = args.postgres.rsplit("/", 1)[0] + "/warta_bench_engine"
    else:
        if args.engines > 1:
            sys.exit("SQLite runs one engine (a single writer); use --postgres for several")
        db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": db_url, "WARTA_DATA_DIR": str(tmp), "WARTA_LOG_LEVEL": os.environ.get("WARTA_LOG_LEVEL", "WARNING"),
           "DJANGO_SETTINGS_MODULE": "warta.settings"}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from warta.blasts import outbox
    from warta.blasts.models import OutboundMessage, SenderID
    from warta.gateway import services

    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "warta.gateway.simulator", "--port", str(port), "--http-port", "-1",
                            "--receipt-delay", str(args.receipt_delay)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    services.add_connection("bench", f"smpp://warta:secret@127.0.0.1:{port}?window={args.window}&binds={args.binds}")
    SenderID.objects.get_or_create(name="HumasDKI")
    t0 = time.monotonic()
    recipients = (f"+62812{i:08d}" for i in range(10_000_000, 10_000_000 + args.n))
    blast, summary = outbox.create_blast(sender="HumasDKI", text="Uji kecepatan Warta", recipients=recipients)
    print(f"queued {summary['queued']:,} messages in {time.monotonic() - t0:.1f} s ({connection.vendor})")
    connection.close()

    prof = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    engines = [subprocess.Popen([sys.executable, *prof, "-m", "warta", "gateway", "--heartbeat", "1"], env=env)
               for _ in range(args.engines)]
    peaks = [0.0] * len(engines)
    try:
        while True:
            time.sleep(0.5)
            peaks = [max(p, peak_rss_mib(e.pid)) for p, e in zip(peaks, engines, strict=True)]
            counts = outbox.status_counts(blast.pk)
            left = counts["queued"] + counts["sending"] + counts["submitted"]
            connection.close()
            if left == 0:
                break
            if any(e.poll() is not None for e in engines):
                sys.exit("an engine exited early")
    finally:
        for e in engines:
            e.terminate()
        for e in engines:
            e.wait(20)
        sim.terminate()
        sim.wait(10)
    from django.db.models import Avg, Max, Min

    agg = OutboundMessage.objects.filter(blast=blast).aggregate(first=Min("sent_at"), last=Max("done_at"))
    span = (agg["last"] - agg["first"]).total_seconds()
    lags = sorted(
        (done - sub).total_seconds() - args.receipt_delay
        for done, sub in OutboundMessage.objects.filter(blast=blast).values_list("done_at", "submitted_at")
        if done and sub
    )
    states = outbox.status_counts(blast.pk)
    print(f"engines={args.engines} window={args.window} binds={args.binds} receipt_delay={args.receipt_delay}s")
    print(f"states: { {k: v for k, v in states.items() if v} }")
    print(f"first claim → last final: {span:.1f} s → {args.n / span:,.0f} messages/s (receipts included)")
    if lags:
        print(f"receipt→final lag: median {lags[len(lags) // 2] * 1000:.0f} ms, "
              f"p95 {lags[int(len(lags) * 0.95)] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")
    print("engine peak RSS: " + ", ".join(f"{p:.0f} MiB" for p in peaks))
    del Avg


if __name__ == "__main__":
    main()
