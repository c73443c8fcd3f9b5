"""``warta contacts import FILE [--group NAME] [--dry-run] [--json]``, ``warta contacts resume JOB``
and ``warta contacts retention [--dry-run] [--json]``.

Thin: arguments in, the same services as the web pages, a report out. The import runs in this
process (no worker needed) with the same checkpoints, so an interrupted import is continued with
``warta contacts resume JOB``. Human output is in Bahasa Indonesia; ``--json`` keys are English.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from warta.contacts import imports, services
from warta.contacts.models import ContactGroup, ImportJob, LawfulBasis, RejectReason


class Command(BaseCommand):
    help = _("Kontak: impor berkas, melanjutkan impor, dan retensi data pribadi.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help=_("Impor kontak dari CSV atau XLSX."))
        imp.add_argument("file")
        imp.add_argument("--group", help=_("Nama grup tujuan (dibuat bila belum ada, dasar: tugas pemerintahan)."))
        imp.add_argument("--dry-run", action="store_true", help=_("Hanya periksa; tidak ada yang disimpan."))
        imp.add_argument("--tags", default="", help=_("Label yang ditambahkan ke setiap kontak, dipisah koma."))
        imp.add_argument("--json", action="store_true")
        res = sub.add_parser("resume", help=_("Lanjutkan impor yang terhenti dari titik simpan terakhir."))
        res.add_argument("job", type=int)
        res.add_argument("--json", action="store_true")
        ret = sub.add_parser("retention", help=_("Anonimkan data kontak yang tidak aktif melewati masa retensi."))
        ret.add_argument("--dry-run", action="store_true")
        ret.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            self._import(options)
        elif action == "resume":
            job = ImportJob.objects.filter(pk=options["job"]).first()
            if job is None:
                raise CommandError(_("Impor #%(id)s tidak ditemukan.") % {"id": options["job"]})
            try:
                imports.resume(job, enqueue=False)
            except imports.ImportRefused as exc:
                raise CommandError(str(exc)) from exc
            self._run(job.pk, options["json"])
        else:
            result = services.retention(dry_run=options["dry_run"])
            result["escalated_requests"] = 0 if options["dry_run"] else len(services.escalate_overdue())
            if options["json"]:
                self.stdout.write(json.dumps(result))
            else:
                verb = _("akan dianonimkan") if options["dry_run"] else _("dianonimkan")
                self.stdout.write(_("Retensi %(days)s hari (sebelum %(cutoff)s): %(n)s kontak %(verb)s; %(other)s data lain.") % {
                    "days": result["retention_days"], "cutoff": result["cutoff"][:10], "n": result["contacts"],
                    "verb": verb, "other": result["other_apps"]})

    def _import(self, options: dict[str, Any]) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise CommandError(_("Berkas %(f)s tidak ditemukan.") % {"f": source})
        try:
            imports.detect_format(source.name)
            imports.check_file(source, "csv", source.stat().st_size)
            with source.open("rb") as fh:
                path, size = imports.store_upload(iter(lambda: fh.read(1 << 20), b""), source.name)
            job = imports.create_job(path, source.name, size)
        except imports.ImportRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["group"]:
            job.group, _created = ContactGroup.objects.get_or_create(
                name=options["group"], defaults={"lawful_basis": LawfulBasis.PUBLIC_TASK})
        job.add_tags = options["tags"]
        job.save()
        if "phone" not in job.mapping:
            raise CommandError(_("Kolom nomor ponsel tidak dikenali. Beri judul kolom 'hp', 'nomor' atau 'ponsel'."))
        imports.start(job, dry_run=options["dry_run"], enqueue=False)
        self._run(job.pk, options["json"])

    def _run(self, job_id: int, as_json: bool) -> None:
        tty = sys.stderr.isatty() and not as_json

        def progress(job: ImportJob) -> None:
            if tty:
                sys.stderr.write(f"\r{job.processed_rows:>12,} / ~{job.total_rows or 0:,}".replace(",", "."))
                sys.stderr.flush()

        try:
            job = imports.execute(job_id, progress=progress)
        except Exception as exc:
            raise CommandError(_("Impor #%(id)s terhenti: %(e)s. Lanjutkan dengan: warta contacts resume %(id)s")
                               % {"id": job_id, "e": exc}) from exc
        if tty:
            sys.stderr.write("\n")
        if job is None:
            raise CommandError(_("Impor #%(id)s sedang dijalankan proses lain.") % {"id": job_id})
        report = imports.report(job)
        if as_json:
            self.stdout.write(json.dumps(report))
            return
        labels = dict(RejectReason.choices)
        title = _("Uji coba") if job.dry_run else _("Impor")
        self.stdout.write(f"{title} #{job.pk} {job.filename}: " + _(
            "%(rows)s baris, %(created)s baru, %(updated)s diperbarui, %(unchanged)s tidak berubah, %(rejected)s ditolak"
        ) % report)
        for reason, n in report["rejected_by_reason"].items():
            self.stdout.write(f"  {labels.get(reason, reason)}: {n}")
        for reason, n in report["warnings"].items():
            self.stdout.write(_("  Peringatan: %(label)s, diimpor tanpa wilayah: %(n)s") % {
                "label": labels.get(reason, reason), "n": n})
        if job.rejected:
            self.stdout.write(_("Baris yang ditolak dapat diunduh di halaman impor #%(id)s.") % {"id": job.pk})

