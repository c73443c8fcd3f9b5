"""``warta run``: everything a laptop demo needs, in one command, stopped by one Ctrl-C.

Theory of operation: migrate and seed in this process, then start each long-running part
(web, background worker; the gateway engine and SMSC simulator when they exist) as a child
process of its own ``warta`` command, exactly as production runs them. The first child that exits
brings the others down, so a half-running demo never pretends to work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from warta.core import demo


class Command(BaseCommand):
    help = "Jalankan Warta lengkap untuk demo: migrasi, data demo, web, pekerja latar, gateway, penjadwal."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("WARTA_BIND", "127.0.0.1:8000"))
        parser.add_argument("--no-demo", action="store_true", help="jangan isi data demo")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        if not options["no_demo"]:
            demo.seed()
        children = self.start_children(options)
        self.print_banner(options["bind"], demo_logins=not options["no_demo"])
        self.supervise(children)

    def commands(self, options: dict[str, Any]) -> list[list[str]]:
        warta = [sys.executable, "-m", "warta"]
        return [
            [*warta, "web", "--bind", options["bind"], "--workers", "2"],
            [*warta, "worker"],
            # The delivery engine, with the built-in SMSC simulator and a "demo" connection to it.
            [*warta, "gateway", "--demo", "--demo-port", os.environ.get("WARTA_SIM_PORT", "2775")],
            # Periodic work: inbox intake and SLA, scheduled blasts, retention.
            [*warta, "scheduler"],
        ]

    def start_children(self, options: dict[str, Any]) -> list[subprocess.Popen[bytes]]:
        env = {**os.environ, "WARTA_DATA_DIR": str(settings.DATA_DIR)}
        return [subprocess.Popen(cmd, env=env) for cmd in self.commands(options)]

    def print_banner(self, bind: str, demo_logins: bool) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nWarta berjalan di http://{bind}/  (Ctrl-C untuk berhenti)\n"))
        if demo_logins:
            self.stdout.write(f"Login demo (kata sandi semua: {demo.DEMO_PASSWORD}):")
            for username, first, last, role, unit in demo.USERS:
                self.stdout.write(f"  {username:<18} {role:<9} {first} {last} ({unit})")
            self.stdout.write("Administrator dan Penyetuju diminta mendaftarkan aplikasi autentikator (TOTP) saat login pertama.\n")

    def supervise(self, children: list[subprocess.Popen[bytes]]) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Warta berhenti.")
