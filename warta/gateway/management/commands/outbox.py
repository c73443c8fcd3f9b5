"""``warta outbox status [--json] [--blast ID]``: messages per state, from the counter table.

``warta outbox receipt-wait SENDER HOURS``: how long a message of that sender ID, accepted by
the SMSC, may wait for its receipt before the engine ends it as ``expired`` ("tidak ada
laporan"); audited. ``warta outbox receipt-wait`` alone lists them.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Status antrean pesan keluar.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        st = sub.add_parser("status", help=_("jumlah pesan per status"))
        st.add_argument("--json", action="store_true")
        st.add_argument("--blast", type=int)
        rw = sub.add_parser("receipt-wait", help=_("batas tunggu laporan terkirim per sender ID (jam)"))
        rw.add_argument("sender", nargs="?")
        rw.add_argument("hours", nargs="?", type=int)

    def handle(self, *args: Any, **o: Any) -> None:
        if o["action"] == "receipt-wait":
            self._receipt_wait(o["sender"], o["hours"])
            return
        from warta.blasts.models import OutboundMessage, OutboxCount
        from warta.blasts.outbox import status_counts

        counts = status_counts(o["blast"])
        no_report = OutboxCount.totals(o["blast"]).get("no_report", 0)
        if o["json"]:
            self.stdout.write(json.dumps({"blast": o["blast"], "states": counts, "total": sum(counts.values()),
                                          "expired_no_report": no_report}))
            return
        labels = dict(OutboundMessage.State.choices)
        for state, n in counts.items():
            self.stdout.write(f"{state:<12} {labels[state]:<16} {n:>10}")
        self.stdout.write(f"{'':<12} {_('tanpa laporan'):<16} {no_report:>10}")
        self.stdout.write(f"{'total':<12} {'':<16} {sum(counts.values()):>10}")

    def _receipt_wait(self, sender: str | None, hours: int | None) -> None:
        from warta.blasts import services
        from warta.blasts.models import SenderID

        if sender is None:
            for s in SenderID.objects.order_by("name"):
                self.stdout.write(f"{s.name:<12} {s.receipt_wait_hours:>5} {_('jam')}")
            return
        row = SenderID.objects.filter(name__iexact=sender).first()
        if row is None:
            raise CommandError(_("Sender ID %(s)r tidak ada. Lihat daftarnya: warta outbox receipt-wait") % {"s": sender})
        if hours is None:
            self.stdout.write(f"{row.name:<12} {row.receipt_wait_hours:>5} {_('jam')}")
            return
        try:
            services.set_receipt_wait(row, hours, None)
        except services.WorkflowError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("%(s)s: laporan ditunggu %(h)s jam.") % {"s": row.name, "h": hours})
