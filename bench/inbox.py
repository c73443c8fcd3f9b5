"""Benchmark: ingest 100,000 mobile-originated messages, acknowledgements queued in the outbox.

    .venv/bin/python bench/inbox.py [--messages 100000] [--batch 2000] [--numbers 50000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench .venv/bin/python bench/inbox.py

Fresh database: SQLite in a temporary WARTA_DATA_DIR, or the DATABASE_URL given (migrated). Use a
freshly created PostgreSQL database for figures: rows of earlier runs are kept, and although each
run uses its own connection name (so its MOs are not duplicates of the last run's), the earlier
runs' conversations carry their open tickets and daily acknowledgement caps over (fewer
acknowledgements: a different workload); the bench says so when the database was not empty. Messages come
from ``--numbers`` distinct handsets (two each by default, so half of them join an open ticket),
1 in 20 is a concatenated message of two parts, 1 in 50 a keyword (INFO/STATUS), 1 in 100 a
redelivered PDU (the same deliver_sm: same sequence number, which is the dedup key's identity
with the octets; every other MO has its own, as over SMPP). Each call of ``receive_mo_batch`` is what the engine does for one loop turn's
MOs: one transaction that stores the parts, writes messages and tickets, and queues the
acknowledgements (one blast per batch, a personalised text per citizen). Goal: >= 2,000 msg/s.
A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--numbers", type=int, default=50_000)
    args = parser.parse_args()

    os.environ.setdefault("WARTA_DATA_DIR", tempfile.mkdtemp(prefix="warta-bench-inbox-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from warta.blasts.models import OutboundMessage
    from warta.inbox.models import Conversation, Message, Ticket
    from warta.inbox.services import MO, receive_mo_batch
    from warta.sms.segments import concat_udh

    call_command("migrate", verbosity=0)
    earlier = Conversation.objects.count()
    if earlier:
        print(f"note: database not fresh ({earlier:,} conversations from earlier runs): open tickets and "
              "acknowledgement caps carry over; use a new database for comparable figures")
    conn_name = f"bench-{os.getpid()}-{int(time.time())}"  # the dedup key includes the connection
    rng = random.Random(7)
    texts = ["Jalan berlubang di depan sekolah, mohon diperbaiki", "Sampah belum diangkut 3 hari",
             "Banjir 40 cm di RT 05 RW 02", "Lampu PJU mati sejak kemarin", "Bagaimana cara urus KTP hilang?"]
    now = timezone.now()
    mos: list[MO] = []
    seq = 0
    pdu_seq = iter(range(1, 10**9))  # the deliver_sm's sequence_number, as from_smpp records it

    def pdu() -> dict[str, object]:
        return {"transport": "smpp", "sequence_number": next(pdu_seq)}
    while len(mos) < args.messages:
        number = f"+62812{rng.randrange(args.numbers):08d}"
        seq += 1
        if seq % 20 == 0:  # a two-part message
            ref = seq % 256
            long = ("Mohon bantuan, " * 15).encode()
            mos += [MO(conn_name, number, "02132881818", short_message=concat_udh(ref, 2, 1) + long[:153], udhi=True,
                       metadata=pdu()),
                    MO(conn_name, number, "02132881818", short_message=concat_udh(ref, 2, 2) + long[153:], udhi=True,
                       metadata=pdu())]
            continue
        if seq % 50 == 0:
            text = rng.choice(["INFO", "STATUS 1"])
        else:
            text = f"{rng.choice(texts)} ({seq})"
        mo = MO(conn_name, number, "02132881818", short_message=text.encode(), source_ton=1, metadata=pdu())
        mos.append(mo)
        if seq % 100 == 7:
            mos.append(mo)  # the SMSC redelivers the same deliver_sm
    mos = mos[: args.messages]

    before_out = OutboundMessage.objects.count()
    before_msg = Message.objects.filter(direction="in").count()
    t0, cpu0 = time.perf_counter(), time.process_time()
    outcomes: dict[str, int] = {}
    for start in range(0, len(mos), args.batch):
        for outcome in receive_mo_batch(mos[start:start + args.batch], now=now):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    acks = OutboundMessage.objects.count() - before_out
    stored = Message.objects.filter(direction="in").count() - before_msg
    print(f"database: {connection.vendor}; batch {args.batch}")
    print(f"receive_mo_batch: {len(mos):,} MOs in {seconds:.1f} s = {len(mos) / seconds:,.0f} msg/s "
          f"(outcomes {outcomes}); {stored:,} messages, {Ticket.objects.count():,} tickets, "
          f"{acks:,} SMS queued in the outbox (acknowledgements and keyword answers)")
    print(f"CPU of this process: {cpu:.1f} s ({len(mos) / cpu:,.0f} msg per CPU-second); "
          f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
