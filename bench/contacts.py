"""Benchmark: import 1,000,000 generated contacts, resolve and iterate the audience, freeze it into the outbox.

    .venv/bin/python bench/contacts.py [--rows 1000000] [--group]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench .venv/bin/python bench/contacts.py

Uses a fresh database: SQLite in a temporary WARTA_DATA_DIR, or the DATABASE_URL given (its
contacts tables are emptied first). 10% of the rows are bad: 5% invalid numbers, 5% duplicates.
Prints rows/s, seconds and the peak RSS of this process (the import runs in-process, exactly as
`warta contacts import` does). A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    prefixes = ["0812", "0813", "0821", "0852", "0857", "0856", "0817", "0818", "0859", "0877", "0895", "0896", "0881"]
    regions = ["Gambir", "31.71.01.1001", "Tanah Abang", "Kota Administrasi Jakarta Timur", "Cilincing", "Kemayoran", ""]
    used: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Nama", "No HP", "Kelurahan", "Label"])
        for i in range(rows):
            roll = i % 20
            if roll == 0 and used:
                number = rng.choice(used[-1000:])  # duplicate within the file
            elif roll == 10:
                number = "08" + "x" * 9 if i % 40 == 10 else "0812" + str(i)[:3]  # invalid
            else:
                number = f"{rng.choice(prefixes)}{i:08d}"
                if len(used) < 100_000:
                    used.append(number)
                else:
                    used[i % 100_000] = number
            writer.writerow([f"Warga {i}", number, regions[i % len(regions)], "bench" if i % 3 else "bench,rt05"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--group", action="store_true", help="also add every contact to a group")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-"))
    os.environ.setdefault("WARTA_DATA_DIR", str(tmp))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from warta.contacts import imports
    from warta.contacts.audience import resolve
    from warta.contacts.models import (
        Contact,
        ContactGroup,
        ImportJob,
        ImportReject,
        Membership,
        OptOut,
    )

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # raw: the ORM's cascade collector is slow over a million rows
        for model in (Membership, ImportReject, ImportJob, Contact, OptOut):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    ContactGroup.objects.filter(name="bench").delete()
    group = ContactGroup.objects.create(name="bench", lawful_basis="public_task") if args.group else None

    csv_path = tmp / "contacts.csv"
    t0 = time.perf_counter()
    generate(csv_path, args.rows)
    print(f"database: {connection.vendor}; generated {args.rows:,} rows "
          f"({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")

    rss_before = peak_rss_mib()
    for phase in ("import", "re-import"):
        job = imports.create_job(str(csv_path), csv_path.name, csv_path.stat().st_size)
        job.group = group
        job.save()
        imports.start(job, dry_run=False, enqueue=False)
        t0 = time.perf_counter()
        job = imports.execute(job.pk)
        seconds = time.perf_counter() - t0
        assert job is not None
        print(f"{phase}: {job.processed_rows:,} rows in {seconds:.1f} s = {job.processed_rows / seconds:,.0f} rows/s; "
              f"created {job.created:,} updated {job.updated:,} unchanged {job.unchanged:,} rejected {job.rejected:,} "
              f"{dict(job.rejected_by_reason)}; peak RSS {peak_rss_mib():.0f} MiB (before import {rss_before:.0f})")

    # 1% opted out, so the audience has something to exclude.
    ids = list(Contact.objects.values_list("e164", flat=True)[::100])
    OptOut.objects.bulk_create([OptOut(e164=e, channel="sms") for e in ids], batch_size=5000)
    audience = resolve(groups=[group]) if group else resolve(regions=["31"])
    t0 = time.perf_counter()
    counts = audience.counts()
    t_counts = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = 0
    for batch in audience.iter_deliverable(batch_size=10_000):
        n += len(batch)
    t_iter = time.perf_counter() - t0
    print(f"audience ({'group' if group else 'all of DKI via regions'}): counts() {t_counts:.2f} s -> "
          f"{counts.deliverable:,} deliverable, excluded {counts.excluded}; "
          f"iter_deliverable {n:,} rows in {t_iter:.2f} s = {n / t_iter:,.0f} rows/s; peak RSS {peak_rss_mib():.0f} MiB")

    # Freezing the audience into the outbox, as releasing an approved blast does (issue 5's goal:
    # a 1,000,000-recipient audience in under 20 s).
    from warta.blasts import outbox
    from warta.blasts.models import SenderID

    sender, _ = SenderID.objects.get_or_create(name="HumasDKI")
    text = "Info Pemprov DKI: uji pembekuan audiens."
    t0 = time.perf_counter()
    blast, summary = outbox.create_blast(
        sender=sender, text=text, prepared=True,
        recipients=((e164, operator, text) for batch in audience.iter_deliverable(batch_size=10_000)
                    for _cid, e164, operator in batch))
    t_freeze = time.perf_counter() - t0
    print(f"freeze audience into the outbox: {summary['queued']:,} messages in {t_freeze:.1f} s = "
          f"{summary['queued'] / t_freeze:,.0f} rows/s; peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
