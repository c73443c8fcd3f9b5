"""``warta report monthly YYYY-MM [--out DIR] [--json]``: the month's report as PDF and XLSX.

For a month whose report is approved or archived, the signed files are written as stored (their
SHA-256 is checked); otherwise the month's draft is generated or refreshed from the data (audited
as the system) and rendered. ``--json`` prints the figures and the paths of the files written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from warta.reports import figures, services


class Command(BaseCommand):
    help = _("Laporan bulanan SMS Center: PDF dan XLSX dari data.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        monthly = sub.add_parser("monthly", help=_("laporan satu bulan"))
        monthly.add_argument("month", help=_("bulan, TTTT-BB (mis. 2026-11)"))
        monthly.add_argument("--out", default=".", help=_("folder tujuan berkas (bawaan: folder kerja)"))
        monthly.add_argument("--json", action="store_true", help=_("cetak angka dan lokasi berkas dalam JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = figures.parse_month(options["month"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            report = services.generate(month)
        except services.ReportError as exc:
            raise CommandError(str(exc)) from None
        if report.is_final and services.verify_files(report) is False:
            raise CommandError(_("Berkas laporan %(r)s tidak cocok dengan hash yang tersimpan; periksa penyimpanan.")
                               % {"r": report})
        pdf, xlsx = services.files(report)
        paths = {"pdf": out / services.file_name(report, "pdf"), "xlsx": out / services.file_name(report, "xlsx")}
        paths["pdf"].write_bytes(pdf)
        paths["xlsx"].write_bytes(xlsx)
        seconds = round(time.monotonic() - started, 2)
        if options["json"]:
            self.stdout.write(json.dumps({
                "month": f"{month:%Y-%m}", "report": {"id": report.pk, "revision": report.revision,
                                                      "state": report.state, "due_at": report.due_at.isoformat(),
                                                      "late": services.is_late(report),
                                                      "pdf_sha256": report.pdf_sha256 or None},
                "files": {k: str(v.resolve()) for k, v in paths.items()}, "seconds": seconds,
                "figures": report.figures}, ensure_ascii=False, default=str, indent=1))
        else:
            s = report.figures["summary"]
            self.stdout.write(_("Laporan %(m)s (%(st)s): %(b)d blast, %(n)d SMS keluar, %(i)d SMS masuk, biaya %(c)s.")
                              % {"m": figures.month_label(month), "st": report.get_state_display(), "b": s["blasts"],
                                 "n": s["messages"], "i": s["inbound"], "c": s["cost"]})
            for path in paths.values():
                self.stdout.write(str(path))
