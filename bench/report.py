"""Benchmark: the monthly report of a month with 1,000,000 outbound and 200,000 inbound messages.

    .venv/bin/python bench/report.py [--outbound 1000000] [--inbound 200000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench .venv/bin/python bench/report.py

Uses a fresh database: SQLite in a temporary WARTA_DATA_DIR, or the DATABASE_URL given (its
outbox and inbox tables are emptied first). October 2026 gets 200 released blasts of 5,000
messages (states and operators mixed; half the sent rows carry a recorded cost, the rest are
priced by the tariff; 1% personalised), plus the inbox's answers; 200,000 citizens' messages on
40,000 tickets; all but the last ten blasts are finished. Prints the seconds for the figures, the PDF and the XLSX, their sum, the files'
sizes and the peak RSS of this process. A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WIB = ZoneInfo("Asia/Jakarta")
OPERATORS = ["telkomsel", "telkomsel", "telkomsel", "indosat", "indosat", "xl", "tri", "smartfren"]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(n_out: int, n_in: int) -> None:
    from django.db import connection

    from warta.accounts.models import Unit, User
    from warta.blasts.models import Blast, OutboundMessage, OutboxCount, SenderID
    from warta.blasts.workflow import Draft, Materi
    from warta.contacts.models import Region
    from warta.inbox.models import Conversation, Message, Ticket
    from warta.insights.models import Topic
    from warta.lib import fastsql
    from warta.reports.models import MonthlyReport

    rng = random.Random(7)
    with connection.cursor() as cursor:
        for model in (Message, Ticket, Conversation, OutboundMessage, OutboxCount, MonthlyReport):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
    Draft.objects.all().update(blast=None, state="withdrawn")
    units = [Unit.objects.get_or_create(code=f"bench-{i}", defaults={"name": f"Unit bench {i}", "kind": "skpd"})[0]
             for i in range(12)]
    author = User.objects.filter(username="bench-operator").first() or User.objects.create_user(
        "bench-operator", role="operator", unit=units[0])
    senders = [SenderID.objects.get_or_create(name=n)[0] for n in ("GubDKI", "WagubDKI", "SekdaDKI", "HumasDKI")]
    start = dt.datetime(2026, 10, 1, tzinfo=WIB)
    per_blast = 5000
    n_blasts = max(1, n_out // per_blast)
    states = ["delivered"] * 90 + ["undelivered"] * 4 + ["expired"] + ["failed"] * 3 + ["submitted"] * 2
    t0 = time.perf_counter()
    fields = ("blast", "to", "operator", "text", "state", "attempts", "unknown_count", "error", "next_attempt_at",
              "created_at", "submitted_at", "done_at", "cost")
    for b in range(n_blasts):
        at = start + dt.timedelta(hours=3 * b + 7)
        materi = Materi.objects.create(unit=units[b % len(units)], submitted_by=author, title=f"Materi {b}",
                                       content="isi", contact_person="bench", status="sent")
        text = f"Info Pemprov DKI nomor {b}: jaga kebersihan lingkungan, buang sampah pada tempatnya."
        blast = Blast.objects.create(name=f"Blast bench {b}", sender=senders[b % 4], text=text,
                                     priority=10 if b % 25 == 0 else 0, created_by=author)
        Blast.objects.filter(pk=blast.pk).update(created_at=at)
        Draft.objects.create(materi=materi, sender=senders[b % 4], author=author, title=f"Blast bench {b}", text=text,
                             state="released", blast=blast, emergency=b % 25 == 0,
                             emergency_reason="darurat" if b % 25 == 0 else "", released_at=at)
        rows = []
        # The last ten blasts still wait for receipts; the others are finished (lifecycle's sweep).
        still_running = b >= n_blasts - 10
        if not still_running:
            Blast.objects.filter(pk=blast.pk).update(state="done", finished_at=at + dt.timedelta(hours=2))
        for i in range(per_blast):
            state = states[i % len(states)]
            if state == "submitted" and not still_running:
                state = "delivered"
            op = OPERATORS[(i * 7 + b) % len(OPERATORS)]
            sub = at + dt.timedelta(seconds=i // 50) if state != "failed" else None
            own = f"Yth Warga {i % 50}, {text}" if i % 100 == 0 else ""
            cost = Decimal("350.00") if sub is not None and i % 2 else None
            rows.append((blast.pk, f"+62812{b:03d}{i:05d}", op, own, state, 1, 0,
                         "0x0000000B" if state == "failed" else "", at, at, sub,
                         None if state == "submitted" else at + dt.timedelta(minutes=5), cost))
        fastsql.insert_rows(OutboundMessage, fields, rows)
    print(f"seeded {n_blasts * per_blast:,} outbound messages in {n_blasts} blasts in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    topics = list(Topic.objects.values_list("pk", flat=True))
    regions = list(Region.objects.filter(level="kelurahan").values_list("pk", flat=True)[:200])
    n_conv = max(1, n_in // 5)
    conv_rows = [(f"+62813{i:08d}", "mobile", start, start, 0, 0) for i in range(n_conv)]
    fastsql.insert_rows(Conversation, ("address", "kind", "created_at", "last_message_at", "window_count",
                                       "autoreply_count"), conv_rows)
    conv_ids = list(Conversation.objects.order_by("pk").values_list("pk", flat=True))
    n_tickets = n_in // 5
    ticket_rows = []
    for i in range(n_tickets):
        at = start + dt.timedelta(seconds=int(i * 31 * 86400 / n_tickets))
        closed = at + dt.timedelta(hours=rng.randint(1, 120)) if i % 3 else None
        fwd = at + dt.timedelta(hours=rng.randint(1, 30)) if i % 2 else None
        ticket_rows.append((conv_ids[i % len(conv_ids)], "selesai" if closed else ("disposisi" if fwd else "menunggu"),
                            "bench", units[i % len(units)].pk if (fwd or closed) else None, topics[i % len(topics)],
                            regions[i % len(regions)] if regions else None, False, at, at, at, 5,
                            at + dt.timedelta(days=1), fwd, fwd + dt.timedelta(days=3) if fwd else None, closed, ""))
    # one open ticket per conversation: only the last ticket of each conversation stays open
    fastsql.insert_rows(Ticket, ("conversation", "status", "subject", "unit", "topic", "region", "urgent",
                                 "created_at", "updated_at", "last_message_at", "message_count", "verify_due_at",
                                 "forwarded_at", "followup_due_at", "closed_at", "search_text"),
                        [r for r in ticket_rows if r[1] == "selesai"] +
                        list({r[0]: r for r in ticket_rows if r[1] != "selesai"}.values()))
    ticket_ids = list(Ticket.objects.order_by("pk").values_list("pk", "conversation_id"))
    msg_rows = []
    for i in range(n_in):
        at = start + dt.timedelta(seconds=int(i * 31 * 86400 / n_in))
        tid, cid = ticket_ids[i % len(ticket_ids)]
        keyword = i % 20 == 0
        msg_rows.append((cid, None if keyword else tid, "in", "keyword" if keyword else "ticket",
                         "INFO" if keyword else f"Banjir di RT {i % 20} kelurahan, mohon ditindaklanjuti", at, "", "",
                         1, False, [], "INFO" if keyword else ""))
        if len(msg_rows) >= 20_000:
            fastsql.insert_rows(Message, ("conversation", "ticket", "direction", "disposition", "text", "at",
                                          "connection", "destination", "parts_total", "is_binary", "parts_missing",
                                          "keyword"), msg_rows)
            msg_rows = []
    if msg_rows:
        fastsql.insert_rows(Message, ("conversation", "ticket", "direction", "disposition", "text", "at", "connection",
                                      "destination", "parts_total", "is_binary", "parts_missing", "keyword"), msg_rows)
    print(f"seeded {n_in:,} inbound messages on {len(ticket_ids):,} tickets in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outbound", type=int, default=1_000_000)
    parser.add_argument("--inbound", type=int, default=200_000)
    parser.add_argument("--no-seed", action="store_true", help="reuse the data of the last run (PostgreSQL)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-report-"))
    os.environ.setdefault("WARTA_DATA_DIR", str(tmp))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if not args.no_seed:
        seed(args.outbound, args.inbound)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    from warta.reports import render, services

    month = dt.date(2026, 10, 1)
    rss0 = peak_rss_mib()
    t0 = time.perf_counter()
    fig = services.compute(month, now=dt.datetime(2026, 11, 2, tzinfo=WIB))
    t_fig = time.perf_counter() - t0
    t0 = time.perf_counter()
    pdf = render.pdf_bytes(fig)
    t_pdf = time.perf_counter() - t0
    t0 = time.perf_counter()
    xlsx = render.xlsx_bytes(fig)
    t_xlsx = time.perf_counter() - t0
    (tmp / "report.pdf").write_bytes(pdf)
    s = fig["summary"]
    print(f"database: {connection.vendor}; month {fig['month']}: {s['messages']:,} outbound in {s['blasts']} blasts, "
          f"{s['inbound']:,} inbound, {s['tickets_opened']:,} tickets, cost Rp{s['cost']}")
    print(f"figures {t_fig:.1f} s, PDF {t_pdf:.1f} s ({len(pdf) / 1e3:.0f} kB), XLSX {t_xlsx:.1f} s "
          f"({len(xlsx) / 1e3:.0f} kB); total {t_fig + t_pdf + t_xlsx:.1f} s; "
          f"peak RSS {peak_rss_mib():.0f} MiB (before the report {rss0:.0f} MiB)")


if __name__ == "__main__":
    main()
