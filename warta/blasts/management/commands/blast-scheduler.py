"""``warta blast-scheduler``: release approved drafts whose time has come into the outbox.

A step is ``services.release_due()``: scheduled times, the end of quiet hours and the end of a
blackout are all "the time has come" checks, and each release is one conditional UPDATE, so two
schedulers running by mistake still make one blast per draft. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Lepas naskah yang sudah disetujui ke antrean kirim pada waktunya (jadwal, jam tenang)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="satu langkah lalu berhenti")
        parser.add_argument("--interval", type=float, default=15.0, help="detik antar langkah (bawaan 15)")
        parser.add_argument("--json", action="store_true", help="laporan dalam JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.db import close_old_connections

        from warta.blasts.services import release_due

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            released = release_due()
            if released or options["once"]:
                report = {"released": [b.pk for b in released]}
                self.stdout.write(json.dumps(report) if options["json"] else
                                  f"{len(released)} blast dilepas ke antrean: {report['released']}")
            if options["once"]:
                break
            close_old_connections()  # a long-running loop must not hold a dead connection
            deadline = time.monotonic() + options["interval"]
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
