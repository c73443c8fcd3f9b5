from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Jalankan pekerja tugas latar (impor, laporan, retensi)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queue", action="append", dest="queues", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        kwargs: dict[str, Any] = {}
        if options["queues"]:
            kwargs["queue_name"] = ",".join(options["queues"])
        call_command("db_worker", **kwargs)
