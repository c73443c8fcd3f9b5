"""Benchmark: the REST API over real HTTP (gunicorn, as `warta web` runs it).

    .venv/bin/python bench/api.py [--rows 100000] [--batch 1000] [--recipients 1000000] [--clients 1]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench_api .venv/bin/python bench/api.py

1. Contacts upsert: ``--rows`` generated contacts (5% invalid numbers) sent to ``POST
   /api/v1/contacts`` in batches of ``--batch``, then the same rows again (all unchanged). Prints
   rows/s (goal: ≥ 10,000 rows/s).
2. Per-recipient results: a blast of ``--recipients`` messages is written straight into the
   outbox (as a release would), then ``GET /api/v1/blasts/{id}/recipients`` pages through all of it
   by cursor, 1,000 a page, and through a state filter. Prints per-page latency percentiles and
   the latency of the first and the last pages (goal: every page < 50 ms at any depth).

Uses a fresh database: SQLite in a temporary WARTA_DATA_DIR, or the DATABASE_URL given (its API,
contacts and outbox tables are emptied first). A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=1_000_000, help="0: skip the paging part")
    parser.add_argument("--clients", type=int, default=1, help="concurrent uploaders")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-api-"))
    os.environ.setdefault("WARTA_DATA_DIR", str(tmp))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from warta.accounts.models import Role, Unit, User
    from warta.api import services
    from warta.api.models import ApiClient, IdempotencyKey, RateBucket
    from warta.blasts import outbox
    from warta.blasts.models import Draft, Materi, OutboundMessage, SenderID
    from warta.contacts.models import Contact

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # raw: the ORM's cascade collector is slow over a million rows
        for model in (OutboundMessage, Contact, IdempotencyKey, RateBucket):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    unit, _ = Unit.objects.get_or_create(code="bench-bpbd", defaults={"name": "BPBD (bench)", "kind": "skpd"})
    client = ApiClient.objects.filter(name="bench-api", unit=unit).first() \
        or services.create_client("bench-api", unit, None)
    # A bucket that never empties: the benchmark measures the work, the bucket's UPDATE included.
    _token, token = services.issue_token(client, None, scopes=["all"], rate=1e9, burst=10**9)

    port = free_port()
    env = {**os.environ, "WARTA_API_RATE": "1000000"}
    server = subprocess.Popen([sys.executable, "-m", "warta", "web", "--bind", f"127.0.0.1:{port}",
                               "--workers", str(args.workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        # Warm every worker (URL resolver, first DB connection) before anything is timed.
        for _ in range(4 * args.workers):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/api/v1/topics", headers={"Authorization": f"Bearer {token}"})
            c.getresponse().read()
        print(f"database: {connection.vendor}; gunicorn {args.workers} workers on 127.0.0.1:{port}")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        # -- 1. contacts upsert ---------------------------------------------------------------------
        batches = []
        for start in range(0, args.rows, args.batch):
            rows = []
            for i in range(start, min(start + args.batch, args.rows)):
                phone = f"0812{i:08d}" if i % 20 else f"08{i}"[:6]  # every 20th invalid
                rows.append({"phone": phone, "name": f"Warga {i}", "tags": ["bench"],
                             "region": "31.71" if i % 3 == 0 else ""})
            batches.append(json.dumps({"contacts": rows}).encode())

        def upload(mine: list[bytes], out: list[tuple[int, dict]]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for body in mine:
                conn.request("POST", "/api/v1/contacts", body=body, headers=headers)
                r = conn.getresponse()
                out.append((r.status, json.loads(r.read())))

        for phase in ("upsert (new)", "upsert again (unchanged)"):
            results: list[tuple[int, dict]] = []
            parts = [batches[i::args.clients] for i in range(args.clients)]
            threads = [threading.Thread(target=upload, args=(p, results)) for p in parts]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - t0
            bad = [s for s, _b in results if s != 200]
            created = sum(b.get("created", 0) for _s, b in results)
            updated = sum(b.get("updated", 0) for _s, b in results)
            unchanged = sum(b.get("unchanged", 0) for _s, b in results)
            rejected = sum(len(b.get("rejected", [])) for _s, b in results)
            print(f"{phase}: {args.rows:,} rows in {len(batches)} requests of {args.batch} "
                  f"({args.clients} client(s)) in {seconds:.1f} s = {args.rows / seconds:,.0f} rows/s; "
                  f"created {created:,} updated {updated:,} unchanged {unchanged:,} rejected {rejected:,}; "
                  f"non-200 answers: {len(bad)}")

        # -- 2. per-recipient results of a large blast -----------------------------------------------
        if not args.recipients:
            return
        sender, _ = SenderID.objects.get_or_create(name="HumasDKI")
        liaison = client.user
        operator = User.objects.filter(username="bench-operator").first()
        if operator is None:
            operator = User.objects.create(username="bench-operator", role=Role.OPERATOR, unit=unit)
        text = "Info Pemprov DKI: uji hasil per penerima."
        t0 = time.perf_counter()
        blast, summary = outbox.create_blast(
            sender=sender, text=text, prepared=True,
            recipients=((f"+62813{i:08d}", "telkomsel", text) for i in range(args.recipients)))
        # Some messages final, as a real blast an hour in: every 10th delivered, every 97th failed.
        ids = OutboundMessage.objects.filter(blast=blast)
        now = timezone.now()
        with connection.cursor() as cursor:
            table = OutboundMessage._meta.db_table
            cursor.execute(f"UPDATE {table} SET state='delivered', submitted_at=%s, done_at=%s "  # noqa: S608
                           f"WHERE blast_id=%s AND id %% 10 = 0", [now, now, blast.pk])
            cursor.execute(f"UPDATE {table} SET state='failed', error='bench', done_at=%s "  # noqa: S608
                           f"WHERE blast_id=%s AND id %% 97 = 0 AND state='queued'", [now, blast.pk])
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")
        m = Materi.objects.create(unit=unit, submitted_by=liaison, title="bench", content="x", contact_person="x")
        Draft.objects.create(materi=m, sender=sender, author=operator, title="bench", text=text, state="released",
                             blast=blast)
        print(f"blast of {summary['queued']:,} recipients written in {time.perf_counter() - t0:.1f} s "
              f"({ids.count():,} rows)")

        # This process wrote the blast and holds Django: its own full garbage collections took
        # ~55 ms and landed in a page's time (gc.callbacks), though the server had answered. Its
        # heap is frozen out of them here (as the server's is, warta.lib.heap): the pages' times
        # are the API's.
        gc.collect()
        gc.freeze()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def page(after: int, state: str = "", limit: int = 1000) -> tuple[float, dict]:
            q = f"/api/v1/blasts/{blast.pk}/recipients?limit={limit}&after={after}" + (f"&state={state}" if state else "")
            t = time.perf_counter()
            conn.request("GET", q, headers=headers)
            r = conn.getresponse()
            body = json.loads(r.read())
            ms = (time.perf_counter() - t) * 1000
            assert r.status == 200, body
            return ms, body

        # The first request for a blast, anywhere, finds its first and last message id once
        # (MIN/MAX over its rows, then kept in BlastIdRange for every worker): timed on its own.
        ms, _body = page(0, "", 1)
        print(f"first request for the blast (finds and keeps its id range): {ms:.1f} ms")
        for state, limit in (("", 1000), ("", 100), ("failed", 100)):
            times: list[float] = []
            after, rows = 0, 0
            while True:
                ms, body = page(after, state, limit)
                times.append(ms)
                rows += len(body["items"])
                if body["next_after"] is None:
                    break
                after = body["next_after"]
            label = f"state={state}" if state else "all states"
            n = len(times)
            first = statistics.mean(times[: max(1, n // 100)])
            last = statistics.mean(times[-max(1, n // 100):])
            print(f"recipients, {label}, limit {limit}: {n:,} pages, {rows:,} rows; per page p50 {pct(times, .5):.1f} ms, "
                  f"p95 {pct(times, .95):.1f} ms, p99 {pct(times, .99):.1f} ms, max {max(times):.1f} ms; "
                  f"first 1% {first:.1f} ms, last 1% {last:.1f} ms; pages over 50 ms: {sum(t > 50 for t in times)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
