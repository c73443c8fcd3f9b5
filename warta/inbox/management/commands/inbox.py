"""``warta inbox list [--json] [--status …]``, ``warta inbox tick`` and ``warta inbox run``.

``tick`` does the inbox's periodic work once: take the gateway's MO rows (``intake_gateway``),
write concatenations whose parts timed out, escalate overdue tickets. ``run`` repeats it every
``--interval`` seconds until SIGTERM/Ctrl-C, for ``warta run`` and production alike.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.inbox import ingest, services
from warta.inbox.models import Ticket, TicketStatus


class Command(BaseCommand):
    help = _("Kotak masuk: daftar tiket, dan pekerjaan berkala (ambil SMS masuk, SLA).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        ls = sub.add_parser("list", help=_("daftar tiket"))
        ls.add_argument("--json", action="store_true")
        ls.add_argument("--status", action="append", choices=[s.value for s in TicketStatus],
                        help=_("boleh diulang; bawaan: semua"))
        ls.add_argument("--limit", type=int, default=100)
        sub.add_parser("tick", help=_("sekali: ambil SMS masuk, rakit pesan terpotong, eskalasi SLA"))
        run = sub.add_parser("run", help=_("ulangi tick terus-menerus"))
        run.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["sub"]
        if sub == "list":
            self.list(options)
        elif sub == "tick":
            self.stdout.write(json.dumps(self.tick()))
        elif sub == "run":
            self.run(options["interval"])
        else:  # pragma: no cover - argparse refuses other values
            raise CommandError(sub)

    def list(self, options: dict[str, Any]) -> None:
        qs = Ticket.objects.select_related("conversation", "unit", "topic").order_by("-last_message_at", "-id")
        if options["status"]:
            qs = qs.filter(status__in=options["status"])
        rows = [{
            "ticket": t.pk, "number": t.conversation.address, "status": t.status,
            "unit": t.unit.code if t.unit else None, "topic": t.topic.code if t.topic else None, "urgent": t.urgent, "subject": t.subject,
            "messages": t.message_count, "created_at": t.created_at.isoformat(),
            "last_message_at": t.last_message_at.isoformat(), "verify_due_at": t.verify_due_at.isoformat(),
            "followup_due_at": t.followup_due_at.isoformat() if t.followup_due_at else None,
            "overdue": t.overdue_clock(timezone.now()),
        } for t in qs[: options["limit"]]]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for r in rows:
            self.stdout.write(f"#{r['ticket']:<7} {r['status']:<10} {r['number']:<16} {r['unit'] or '-':<14} "
                              f"{'TERLAMBAT ' if r['overdue'] else ''}{r['subject'][:60]}")
        self.stdout.write(_("%(n)d tiket") % {"n": len(rows)})

    def tick(self) -> dict[str, int]:
        taken = 0
        while (n := ingest.intake_gateway()) and taken < 100_000:
            taken += n
        return {"taken": taken, "flushed": ingest.flush_incomplete(), "escalated": services.escalate_overdue()}

    def run(self, interval: float) -> None:
        stopping = False

        def stop(*_args: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            result = self.tick()
            if any(result.values()):
                self.stdout.write(json.dumps(result))
            time.sleep(interval)
