"""The delivery engine, end to end: N queued messages to the SMSC simulator, receipts included.

Run::

    .venv/bin/python bench/engine.py                       # SQLite, one engine, 100,000 messages
    .venv/bin/python bench/engine.py --postgres postgres://postgres@127.0.0.1:5432/postgres --engines 2
    .venv/bin/python bench/engine.py -n 20000 --window 256 --binds 2
    .venv/bin/python bench/engine.py --idle [--postgres URL] [--blasts 10000 --history 5000000]
    .venv/bin/python bench/engine.py --smsc netsmpp -n 20000 --window 64 --binds 1   # Net::SMPP SMSC
    .venv/bin/python bench/engine.py --throttled [--limits 150,200,250,300] -n 200000 --window 64

``--smsc netsmpp`` sends to ``bench/net_smpp_smsc.pl``, an SMSC built on Debian's Net::SMPP (no
Warta code; receipts ``--receipt-delay`` after each submit), and also prints the SMSC's own
accepted-submit rate (first → last accepted submit_sm), the figure compared with Kannel.
``--throttled`` runs four of them, one connection per operator, each answering ESME_RTHROTTLED
above its own ``--limits`` entry (the engine is not told), and an emergency blast of ``-n``
recipients spread over the four operators; it prints the accepted rate over the first minute
and the whole run as a share of the sum of the limits, and the final failures.

``--idle`` measures what history costs an idle engine (#10 item 10): it writes ``--blasts``
finished blasts and ``--history`` delivered outbox rows with plain SQL (``INSERT … SELECT`` over
``generate_series`` / a recursive CTE: minutes, not hours), their squashed counter rows, then runs
``warta gateway`` against the simulator with nothing queued and prints the engine process's CPU
share over ``--idle-seconds``, and, in this process, the queries and time of one claim on the
empty queue (with and without the blasts' clock, ``outbox.sweep``).

Prints, from the database afterwards: messages/s from the first ``sending`` mark to the last final
state, receipt-to-final lag (final state time minus the simulator's receipt time, which is
submit + receipt delay), and each engine's peak RSS (VmHWM). The engine(s) and the simulator
are separate processes, as in production; a fresh database is created for the run
(PostgreSQL: database ``--database``, default ``warta_bench_engine``, dropped and recreated).
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
from typing import Any


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
    ap.add_argument("--database", default="warta_bench_engine",
                    help="--postgres: the database the bench drops and creates (default warta_bench_engine)")
    ap.add_argument("--engines", type=int, default=1)
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--binds", type=int, default=2)
    ap.add_argument("--receipt-delay", type=float, default=0.5)
    ap.add_argument("--smsc", choices=["sim", "netsmpp"], default="sim",
                    help="sim: Warta's simulator; netsmpp: bench/net_smpp_smsc.pl (Net::SMPP, not our code)")
    ap.add_argument("--throttled", action="store_true",
                    help="four Net::SMPP SMSCs, each throttling at its own limit; an emergency blast")
    ap.add_argument("--limits", default="150,200,250,300", help="--throttled: submits/s each SMSC accepts")
    ap.add_argument("--by-operator", action="store_true", help="--throttled: queue operator after operator")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="give up waiting after this long")
    ap.add_argument("--idle", action="store_true", help="measure an idle engine over a long history")
    ap.add_argument("--blasts", type=int, default=10_000, help="--idle: finished blasts in the history")
    ap.add_argument("--history", type=int, default=5_000_000, help="--idle: delivered outbox rows in the history")
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-"))
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{args.database}"')
        db_url = args.postgres.rsplit("/", 1)[0] + "/" + args.database
    else:
        if args.engines > 1:
            sys.exit("SQLite runs one engine (a single writer); use --postgres for several")
        db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": db_url, "WARTA_DATA_DIR": str(tmp), "WARTA_LOG_LEVEL": os.environ.get("WARTA_LOG_LEVEL", "WARNING"),
           "DJANGO_SETTINGS_MODULE": "warta.settings",
           # A normal blast at night would wait for the end of quiet hours: the bench measures
           # sending, whatever the hour it is run at.
           "WARTA_QUIET_HOURS": os.environ.get("WARTA_QUIET_HOURS", "")}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from warta.blasts import outbox
    from warta.blasts.models import OutboundMessage, SenderID
    from warta.gateway import services

    if args.idle:
        idle(args, env)
        return
    if args.throttled:
        throttled(args, env)
        return
    stats = tmp / "smsc-stats.jsonl"
    if args.smsc == "netsmpp":
        sim, port = start_netsmpp(args.receipt_delay, 0, stats)
    else:
        port = free_port()
        sim = subprocess.Popen([sys.executable, "-m", "warta.gateway.simulator", "--port", str(port),
                                "--http-port", "-1", "--receipt-delay", str(args.receipt_delay)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
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
    waited = time.monotonic()
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
            if time.monotonic() - waited > args.max_seconds:
                # E.g. receipts an SMSC never sent (the Net::SMPP SMSC drops what it owed on a
                # bind closed by a rebalance of several engines): say so instead of waiting.
                sys.exit(f"gave up after {args.max_seconds:.0f} s: { {k: v for k, v in counts.items() if v} }")
    finally:
        for e in engines:
            e.terminate()
        for e in engines:
            e.wait(20)
        stop_group(sim)
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
    if args.smsc == "netsmpp":
        rows = read_stats(stats)
        first = min(r["first"] for r in rows if r["first"])
        last = max(r["last"] for r in rows if r["last"])
        accepted = sum(r["accepted"] for r in rows)
        print(f"Net::SMPP SMSC: {accepted:,} submit_sm accepted, first→last {last - first:.1f} s → "
              f"{accepted / max(last - first, 1e-9):,.0f} accepted submits/s")
    del Avg


def start_netsmpp(delay: float, tps: int, stats: Path) -> tuple[subprocess.Popen[str], int]:
    """bench/net_smpp_smsc.pl in a session of its own (its per-connection children die with it)."""
    proc = subprocess.Popen(["perl", str(Path(__file__).with_name("net_smpp_smsc.pl")), "--receipt-delay", str(delay),
                             "--tps", str(tps), "--stats", str(stats)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        sys.exit(f"Net::SMPP SMSC did not start ({line!r}): apt-get install libnet-smpp-perl")
    return proc, int(line.split()[1])


def stop_group(proc: subprocess.Popen[Any]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    proc.wait(10)
    time.sleep(0.5)  # the per-connection children write their statistics on SIGTERM


def read_stats(path: Path) -> list[dict[str, Any]]:
    import json

    rows = []
    for part in sorted(path.parent.glob(path.name + ".*")):  # one file per SMSC connection
        rows.extend(json.loads(line) for line in part.read_text().splitlines() if line.strip())
    return rows


OPERATORS = [("telkomsel", "+62812"), ("indosat", "+62815"), ("xl", "+62817"), ("smartfren", "+62881")]


def throttled(args: argparse.Namespace, env: dict[str, str]) -> None:
    """#13 item 3: four connections (one per operator), each SMSC throttling at its own limit that
    the engine is not told; a 200,000-recipient (``-n``) emergency blast. Prints the accepted
    rate as a share of the sum of the limits, over the first minute and the whole run, and the
    final failures."""
    from collections import Counter

    from django.db import connection

    from warta.blasts import outbox
    from warta.blasts.models import Blast, SenderID
    from warta.gateway import services

    limits = [int(x) for x in args.limits.split(",")]
    assert len(limits) == len(OPERATORS), "--limits: one per operator (4)"
    stats = Path(tempfile.mkdtemp(prefix="warta-bench-thr-")) / "stats.jsonl"
    smscs = []
    for (op, _prefix), limit in zip(OPERATORS, limits, strict=True):
        proc, port = start_netsmpp(args.receipt_delay, limit, stats)
        smscs.append(proc)
        # The engine is NOT told the limit: no tps= in the URL.
        services.add_connection(f"op-{op}", f"smpp://warta:secret@127.0.0.1:{port}?window={args.window}&binds=1",
                                operators=[op])
    SenderID.objects.get_or_create(name="HumasDKI")
    per = args.n // len(OPERATORS)
    # Operators interleaved, as in a real audience (contacts in any order). ``--by-operator``
    # queues them operator after operator instead: the claim takes rows in id order, so the
    # first minute then feeds one connection only (head-of-line blocking, measured).
    if args.by_operator:
        recipients = [f"{prefix}{10_000_000 + i:08d}" for _op, prefix in OPERATORS for i in range(per)]
    else:
        recipients = [f"{prefix}{10_000_000 + i:08d}" for i in range(per) for _op, prefix in OPERATORS]
    t0 = time.monotonic()
    blast, summary = outbox.create_blast(sender="HumasDKI", text="DARURAT: uji kapasitas Warta",
                                         recipients=recipients, priority=Blast.Priority.EMERGENCY)
    print(f"queued {summary['queued']:,} emergency messages in {time.monotonic() - t0:.1f} s ({connection.vendor}); "
          f"limits {dict(zip([o for o, _p in OPERATORS], limits, strict=True))} (sum {sum(limits)}/s), "
          f"window {args.window}")
    connection.close()
    eng = subprocess.Popen([sys.executable, "-m", "warta", "gateway", "--heartbeat", "1"], env=env)
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.max_seconds:
            time.sleep(1.0)
            c = outbox.status_counts(blast.pk)
            connection.close()
            if c["queued"] + c["sending"] + c["submitted"] == 0:
                break
            if eng.poll() is not None:
                sys.exit("the engine exited early")
    finally:
        eng.terminate()
        eng.wait(30)
        for proc in smscs:
            stop_group(proc)
    states = {k: v for k, v in outbox.status_counts(blast.pk).items() if v}
    rows = read_stats(stats)
    per_sec: Counter[int] = Counter()
    throttled_n = 0
    for r in rows:
        per_sec[r["sec"]] += r["accepted"]
        throttled_n += r["throttled"]
    if not per_sec:
        sys.exit("no submit_sm accepted")
    first = min(r["first"] for r in rows if r["first"])
    last = max(r["last"] for r in rows if r["last"])
    accepted = sum(per_sec.values())
    span = min(60, max(1, int(last) - int(first) + 1))  # the first minute (or the whole run, if shorter)
    minute = sum(n for sec, n in per_sec.items() if int(first) <= sec < int(first) + span)
    total = sum(limits)
    print(f"states: {states}")
    print(f"accepted {accepted:,}, throttled answers {throttled_n:,}; first→last accepted {last - first:.0f} s")
    print(f"first {span} s: {minute:,} accepted = {minute / span:,.0f}/s = {100 * minute / (span * total):.0f}% of the sum "
          f"of the limits; whole run: {accepted / max(last - first, 1):,.0f}/s = "
          f"{100 * accepted / max(last - first, 1) / total:.0f}%")
    print(f"final failures: {states.get('failed', 0):,} failed, {states.get('unknown', 0):,} unknown, "
          f"{states.get('queued', 0) + states.get('sending', 0):,} still queued when the run stopped")


def _history(blasts: int, rows: int) -> None:
    """``blasts`` finished blasts with ``rows`` delivered messages between them, by plain SQL."""
    from django.db import connection, transaction

    from warta.blasts.models import Blast, OutboundMessage, OutboxCount, SenderID

    sender = SenderID.objects.get_or_create(name="HumasDKI")[0]
    B, M, C = Blast._meta.db_table, OutboundMessage._meta.db_table, OutboxCount._meta.db_table
    pg = connection.vendor == "postgresql"
    series = "generate_series(1, %s) AS s(g)" if pg else "s"
    cte = "" if pg else "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
    ts = "now() - interval '30 days'" if pg else "datetime('now', '-30 days')"
    per = max(1, rows // blasts)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM " + B)
        first = cur.fetchone()[0] + 1
        cur.execute(f"INSERT INTO {B} (id, name, sender_id, text, priority, state, resend_unknown, created_at, "
                    f"started_at, finished_at) {cte}SELECT {first} - 1 + g, 'riwayat ' || g, %s, 'Info riwayat', 0, "
                    f"'done', true, {ts}, {ts}, {ts} FROM {series}", [blasts, sender.pk] if not pg else
                    [sender.pk, blasts])
        cur.execute(f'INSERT INTO {M} (blast_id, "to", operator, text, state, attempts, unknown_count, '
                    f"next_attempt_at, created_at, sent_at, submitted_at, done_at, error, cost) "
                    f"{cte}SELECT {first} + ((g - 1) / {per}) %% {blasts}, '+62812' || (10000000 + g), 'telkomsel', "
                    f"'', 'delivered', 1, 0, {ts}, {ts}, {ts}, {ts}, {ts}, '', 350 FROM {series}", [rows])
        cur.execute(f"INSERT INTO {C} (blast_id, state, count, cost) {cte}SELECT {first} - 1 + g, 'delivered', "
                    f"{per}, {per * 350} FROM {series}", [blasts])
        if pg:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{B}', 'id'), (SELECT MAX(id) FROM {B}))")
    if pg:
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {B}; ANALYZE {M}; ANALYZE {C}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(args: argparse.Namespace, env: dict[str, str]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from warta.blasts.models import Blast
    from warta.gateway import services
    from warta.gateway.engine import Engine

    t0 = time.monotonic()
    _history(args.blasts, args.history)
    print(f"history: {args.blasts:,} finished blasts, {args.history:,} delivered outbox rows written in "
          f"{time.monotonic() - t0:.0f} s ({connection.vendor})")
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "warta.gateway.simulator", "--port", str(port), "--http-port", "-1"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    services.add_connection("bench", f"smpp://warta:secret@127.0.0.1:{port}?window={args.window}&binds={args.binds}")
    # One claim on the empty queue, in this process: queries and time.
    engine = Engine(engine_id="bench-probe")
    engine.register()
    engine.load_routes()
    engine.claim_batch(100)  # warm: the first sweep
    with CaptureQueriesContext(connection) as ctx:
        t1 = time.perf_counter()
        engine.claim_batch(100)
        claim_ms = (time.perf_counter() - t1) * 1000
    engine._next_blast_clock = 0.0
    with CaptureQueriesContext(connection) as ctx2:
        t1 = time.perf_counter()
        engine.claim_batch(100)
        sweep_ms = (time.perf_counter() - t1) * 1000
    engine.release_all()
    print(f"one claim on the empty queue: {len(ctx.captured_queries)} queries, {claim_ms:.2f} ms; "
          f"with the blasts' clock (once a second): {len(ctx2.captured_queries)} queries, {sweep_ms:.2f} ms; "
          f"active blasts: {Blast.objects.filter(state='active').count()}")
    connection.close()
    eng = subprocess.Popen([sys.executable, "-m", "warta", "gateway", "--heartbeat", "2"], env=env)
    try:
        time.sleep(5.0)  # bind, first housekeeping
        c0, w0 = _cpu_seconds(eng.pid), time.monotonic()
        time.sleep(args.idle_seconds)
        c1, w1 = _cpu_seconds(eng.pid), time.monotonic()
        print(f"engine peak RSS {peak_rss_mib(eng.pid):.0f} MiB")
    finally:
        eng.terminate()
        eng.wait(20)
        sim.terminate()
        sim.wait(10)
    print(f"idle engine over {w1 - w0:.0f} s: {c1 - c0:.2f} CPU-seconds = {100 * (c1 - c0) / (w1 - w0):.2f}% of a core")


if __name__ == "__main__":
    main()
