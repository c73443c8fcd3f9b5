"""``warta gateway [--connection NAME…] [--demo]``: run one delivery engine until SIGTERM.

Run as many as you like against PostgreSQL (each claims its own batches and leases its own
binds); on SQLite run one. ``--demo`` also starts the built-in SMSC simulator in this process
and makes sure a ``demo`` connection points at it, for ``warta run``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from warta.lib.heap import quiet_collector

log = logging.getLogger("warta.gateway")

DEMO_URL = "smpp://warta:secret@127.0.0.1:{port}?window=64&binds=1"


class Command(BaseCommand):
    help = _("Jalankan mesin pengiriman (gateway): klaim antrean, kirim, terima laporan dan SMS masuk.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", action="append", default=[], metavar="NAME",
                            help=_("hanya koneksi ini (boleh diulang); bawaan: semua koneksi aktif"))
        parser.add_argument("--demo", action="store_true", help=_("jalankan juga simulator SMSC dan koneksi demo"))
        parser.add_argument("--demo-port", type=int, default=2775)
        parser.add_argument("--lease-seconds", type=float, default=15.0,
                            help=_("masa sewa mesin; mesin yang mati diambil alih setelah ini"))
        parser.add_argument("--heartbeat", type=float, default=2.0)
        parser.add_argument("--engine-id", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from warta.gateway.engine import Engine
        from warta.gateway.models import Connection

        if options["connection"]:
            missing = set(options["connection"]) - set(Connection.objects.values_list("name", flat=True))
            if missing:
                raise CommandError(_("Koneksi tidak ada: %(names)s. Lihat: warta connection list")
                                   % {"names": ", ".join(sorted(missing))})
        engine = Engine(connections=options["connection"] or None, engine_id=options["engine_id"],
                        lease_seconds=options["lease_seconds"], heartbeat_seconds=options["heartbeat"])
        # Set up: what is alive now lives as long as the engine. Left in the collector, every full
        # collection stopped the event loop ~80 ms, and young ones ~4,000 times a run
        # (warta.lib.heap).
        quiet_collector()
        asyncio.run(self._main(engine, options))

    async def _main(self, engine: Any, options: dict[str, Any]) -> None:
        sim = None
        if options["demo"]:
            from warta.gateway.simulator import Simulator, SimulatorConfig

            # Like a real network, a few messages are not delivered: the demo's consoles show failures.
            sim = Simulator(SimulatorConfig(port=options["demo_port"], http_port=options["demo_port"] + 1,
                                            receipt_delay=1.0, undeliv_share=0.05, reject_share=0.01))
            await sim.start()
            await asyncio.to_thread(_ensure_demo_connection, sim.port)
            log.info("demo: SMSC simulator on 127.0.0.1:%d, MO injection on :%s", sim.port, sim.http_port)
        try:
            await engine.run()
        finally:
            if sim is not None:
                await sim.stop()


def _ensure_demo_connection(port: int) -> None:
    from django.db import connection

    from warta.gateway import services
    from warta.gateway.models import Connection

    try:
        url = DEMO_URL.format(port=port)
        conn = Connection.objects.filter(name="demo").first()
        if conn is None:
            services.add_connection("demo", url)
        elif conn.url != url:
            services.update_connection(conn, url=url)
    finally:
        connection.close()
