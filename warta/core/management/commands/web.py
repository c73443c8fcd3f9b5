from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Jalankan server web Warta (gunicorn)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("WARTA_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WARTA_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WARTA_WEB_THREADS", "4")))
        parser.add_argument("--no-collectstatic", action="store_true",
                            help="jangan kumpulkan berkas statis saat mulai (instalasi baca-saja)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_collectstatic"]:
            # The pages name static files by their hashed names from the manifest this writes: a
            # fresh data directory, or an upgrade with new static files, needs it before serving.
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable, "-m", "gunicorn", "warta.wsgi:application",
            "--config", "python:warta.core.gunicorn",  # hooks only (post_worker_init)
            "--bind", options["bind"], "--workers", str(options["workers"]),
            "--threads", str(options["threads"]), "--graceful-timeout", "10",
            "--access-logfile", "-", "--logger-class", "warta.core.logging.RedactingAccessLogger",
            "--forwarded-allow-ips", os.environ.get("WARTA_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        # exec, so that signals reach gunicorn directly and `warta run` can stop it cleanly.
        os.execv(sys.executable, argv)
