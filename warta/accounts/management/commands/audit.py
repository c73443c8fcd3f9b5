"""``warta audit verify [--json]``: recompute the audit trail's hash chain."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from warta.accounts import auditchain
from warta.accounts.models import AuditEvent


class Command(BaseCommand):
    help = "Periksa rantai hash jejak audit (baris yang dihapus atau diubah terdeteksi)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="hitung ulang rantai hash jejak audit")
        verify.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=5000)
        verdict = auditchain.verify(events)
        if options["json"]:
            self.stdout.write(json.dumps(verdict.as_dict()))
        else:
            self.stdout.write(_("Diperiksa: %(n)s baris; kepala rantai: #%(id)s %(hash)s")
                              % {"n": verdict.checked, "id": verdict.head_id, "hash": verdict.head_hash})
            for problem in verdict.problems:
                what = (_("baris sebelumnya hilang atau dipindah") if problem["problem"] == "missing_before"
                        else _("isi baris diubah"))
                self.stdout.write(f"  #{problem['id']}: {what}")
        if not verdict.ok:
            raise CommandError(_(
                "Jejak audit TIDAK utuh: ada baris yang dihapus atau diubah. Amankan salinan basis data "
                "dan cadangan, lalu ikuti prosedur insiden (docs/security.md)."
            ))
        if not options["json"]:
            self.stdout.write(_("Jejak audit utuh. Catat kepala rantai di luar basis data untuk pemeriksaan berikutnya."))
