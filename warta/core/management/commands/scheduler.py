from __future__ import annotations

import json
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand

from warta.core import scheduler


class Command(BaseCommand):
    help = "Jalankan pekerjaan berkala: SMS masuk dan SLA, blast terjadwal, retensi data pribadi."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="jalankan semua pekerjaan sekali lalu berhenti")
        parser.add_argument("--json", action="store_true", help="laporan dalam JSON (dengan --once)")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = scheduler.default_jobs()
        if options["once"]:
            results = scheduler.run_due(jobs, time.monotonic())
            self.stdout.write(json.dumps(results, default=str) if options["json"] else str(results))
            return
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.loop(jobs, lambda: stopping)
