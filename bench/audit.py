"""Benchmark: the audit trail's hash chain (#11 item 8) and the data.viewed check (item 16).

    .venv/bin/python bench/audit.py [--events 5000] [--threads 4]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench .venv/bin/python bench/audit.py

Prints: events/s written by one writer and by ``--threads`` concurrent writers (each event its
own transaction, as a web request's; the chain serialises them), ``warta audit verify`` rows/s,
and the cost of ``record_views`` on an inbox page of 50 tickets when nothing is new (the poll's
case) and when all are, and, last, the same insert without the chain for comparison (those rows
break the chain: run the bench on a scratch database, and a second run's ``verify`` fails). A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    os.environ.setdefault("WARTA_DATA_DIR", tempfile.mkdtemp(prefix="warta-bench-audit-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import RequestFactory

    from warta.accounts import audit, auditchain
    from warta.accounts.models import AuditEvent, User

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; rows before: {AuditEvent.objects.count():,}")
    changes = {"field": ["lama", "baru"], "count": 3}

    start = time.perf_counter()
    for i in range(args.events):
        audit.record("bench.one_writer", object_type="bench", object_id=str(i), changes=changes)
    one = args.events / (time.perf_counter() - start)

    per_thread = args.events // args.threads

    def writer(n: int) -> None:
        try:
            for i in range(per_thread):
                audit.record("bench.concurrent", object_type="bench", object_id=f"{n}-{i}", changes=changes)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.threads)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    many = per_thread * args.threads / (time.perf_counter() - start)

    start = time.perf_counter()
    verdict = auditchain.verify(AuditEvent.objects.order_by("id").iterator(chunk_size=5000))
    verify_rate = verdict.checked / (time.perf_counter() - start)

    user = User.objects.filter(username="bench-viewer").first() or User.objects.create(
        username="bench-viewer", role="admin")
    request = RequestFactory().get("/kotak-masuk/")
    request.user = user
    request.session = type("S", (), {"session_key": f"bench-{time.time()}"})()
    ids = list(range(1, 51))
    start = time.perf_counter()
    audit.record_views(request, "inbox.ticket", ids, what="bench")  # all new: one event
    first_ms = (time.perf_counter() - start) * 1000
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        audit.record_views(request, "inbox.ticket", ids, what="bench")  # a poll: nothing new
    poll_us = (time.perf_counter() - start) / rounds * 1_000_000

    # Baseline: the same row inserted in its own transaction without the chain (bulk_create skips
    # save(); the rows get an empty hash, so verify afterwards reports them, as it should).
    from django.db import transaction

    start = time.perf_counter()
    for i in range(args.events):
        with transaction.atomic():
            AuditEvent.objects.bulk_create([AuditEvent(action="bench.unchained", object_type="bench",
                                                       object_id=str(i), changes=changes)])
    baseline = args.events / (time.perf_counter() - start)

    print(f"insert without the chain (baseline): {baseline:,.0f} events/s")
    print(f"audit.record, one writer:            {one:,.0f} events/s")
    print(f"audit.record, {args.threads} concurrent writers:    {many:,.0f} events/s (chain serialises them)")
    print(f"warta audit verify:                  {verify_rate:,.0f} rows/s over {verdict.checked:,} rows, ok={verdict.ok}")
    print(f"record_views, page of 50, all new:   {first_ms:.1f} ms (one event)")
    print(f"record_views, page of 50, a poll:    {poll_us:.0f} µs (no write)")


if __name__ == "__main__":
    main()
