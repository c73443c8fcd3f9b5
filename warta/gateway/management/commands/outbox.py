"""``warta outbox status [--json] [--blast ID]``: messages per state, from the counter table."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Status antrean pesan keluar.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        st = sub.add_parser("status", help=_("jumlah pesan per status"))
        st.add_argument("--json", action="store_true")
        st.add_argument("--blast", type=int)

    def handle(self, *args: Any, **o: Any) -> None:
        from warta.blasts.models import OutboundMessage
        from warta.blasts.outbox import status_counts

        counts = status_counts(o["blast"])
        if o["json"]:
            self.stdout.write(json.dumps({"blast": o["blast"], "states": counts, "total": sum(counts.values())}))
            return
        labels = dict(OutboundMessage.State.choices)
        for state, n in counts.items():
            self.stdout.write(f"{state:<12} {labels[state]:<16} {n:>10}")
        self.stdout.write(f"{'total':<12} {'':<16} {sum(counts.values()):>10}")
