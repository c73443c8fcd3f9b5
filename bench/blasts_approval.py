"""Benchmark: what freezing an approved audience costs (issue 11 item 5).

    .venv/bin/python bench/blasts_approval.py [--rows 200000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench .venv/bin/python bench/blasts_approval.py

Submit resolves the deliverable set, sorts it, hashes it and stores it compressed; release
resolves it again and compares (in the same pass that writes the outbox, which
bench/contacts.py measures). Uses a fresh database: SQLite in a temporary WARTA_DATA_DIR, or the
DATABASE_URL given (its contacts tables are emptied first). Prints seconds, the stored size and
the peak RSS of this process. A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    os.environ.setdefault("WARTA_DATA_DIR", tempfile.mkdtemp(prefix="warta-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from warta.blasts import services
    from warta.contacts.models import (
        Contact,
        ContactGroup,
        ImportJob,
        ImportReject,
        Membership,
        OptOut,
    )

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:  # raw: the ORM's cascade collector is slow over many rows
        for model in (Membership, ImportReject, ImportJob, Contact, OptOut):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    ContactGroup.objects.filter(name="bench-approval").delete()
    group = ContactGroup.objects.create(name="bench-approval", lawful_basis="public_task")
    t0 = time.perf_counter()
    for start in range(0, args.rows, 10_000):
        contacts = Contact.objects.bulk_create([Contact(e164=f"+6281{(i * 7919 + 12345) % 10**9:09d}", name=f"Warga {i}",
                                                        operator="telkomsel")
                                                for i in range(start, min(start + 10_000, args.rows))])
        Membership.objects.bulk_create([Membership(contact=c, group=group) for c in contacts])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as the contacts import does after a large load
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}; {args.rows:,} contacts in one group in {time.perf_counter() - t0:.1f} s")

    audience = {"groups": [group.pk]}
    rss = peak_rss_mib()
    t0 = time.perf_counter()
    numbers = services.deliverable_numbers(audience)
    t_resolve = time.perf_counter() - t0
    t0 = time.perf_counter()
    size, digest, blob = services.freeze_audience(numbers)
    t_freeze = time.perf_counter() - t0
    print(f"submit: resolve {size:,} deliverable in {t_resolve:.2f} s, sort+hash+compress in {t_freeze:.2f} s; "
          f"stored {len(blob) / 1e6:.1f} MB ({len(blob) / max(size, 1):.1f} bytes/number); "
          f"peak RSS {peak_rss_mib():.0f} MiB (before {rss:.0f})")

    # Release: read the frozen set back, then the one pass that writes the outbox filters by it
    # and notes what it saw (one opt-out: a tolerated change). Measured here without the insert
    # (bench/contacts.py measures the insert), with and without the check.
    from collections import Counter

    from warta.blasts.models import Draft

    OptOut.objects.create(e164=numbers[0], channel="sms")
    draft = Draft(text="Info Pemprov DKI: uji.", audience=audience, audience_set=blob, audience_hash=digest)
    t0 = time.perf_counter()
    frozen = services.frozen_numbers(draft)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = sum(1 for _r in services._recipients(draft, None, Counter()))
    t_plain = time.perf_counter() - t0
    seen: set[str] = set()
    t0 = time.perf_counter()
    checked = sum(1 for _r in services._recipients(draft, None, Counter(), only=frozen, seen=seen))
    t_checked = time.perf_counter() - t0
    print(f"release: read frozen set {t_read:.2f} s; recipients without check {plain:,} in {t_plain:.2f} s, "
          f"with check {checked:,} in {t_checked:.2f} s (+{t_checked - t_plain:.2f} s; added "
          f"{len(seen - frozen)}, removed {len(frozen - seen)}); peak RSS {peak_rss_mib():.0f} MiB")

if __name__ == "__main__":
    main()
