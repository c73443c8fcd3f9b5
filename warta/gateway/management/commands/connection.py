"""``warta connection add|list|test|set``: gateway connections from the shell.

::

    warta connection add NAME URL [--sender HumasDKI]… [--operators telkomsel,xl] [--priority N]
    warta connection list [--json]
    warta connection test NAME
    warta connection set NAME [--url URL] [--active yes|no] [--priority N]

The URL is checked at once by its transport (a typo is reported here, precisely, in Indonesian);
passwords are never printed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Kelola koneksi gateway (SMPP, Kannel, Gammu).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help=_("tambah koneksi"))
        add.add_argument("name")
        add.add_argument("url")
        add.add_argument("--sender", action="append", default=[], help=_("sender ID yang boleh dibawa (ulang)"))
        add.add_argument("--operators", action="append", default=[], help=_("operator yang dilayani, pisah koma"))
        add.add_argument("--prefix", action="append", default=[], help=_("awalan nomor E.164 yang dilayani"))
        add.add_argument("--priority", type=int, default=0)
        lst = sub.add_parser("list", help=_("daftar koneksi"))
        lst.add_argument("--json", action="store_true")
        test = sub.add_parser("test", help=_("bind, enquire_link, unbind"))
        test.add_argument("name")
        test.add_argument("--timeout", type=float, default=10.0)
        st = sub.add_parser("set", help=_("ubah koneksi"))
        st.add_argument("name")
        st.add_argument("--url")
        st.add_argument("--priority", type=int)
        st.add_argument("--active", choices=["yes", "no", "ya", "tidak"])

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["action"])(options)

    def _get(self, name: str) -> Any:
        from warta.gateway.models import Connection

        try:
            return Connection.objects.get(name=name)
        except Connection.DoesNotExist:
            raise CommandError(_("Koneksi %(n)r tidak ada. Lihat: warta connection list") % {"n": name}) from None

    def do_add(self, o: dict[str, Any]) -> None:
        from warta.gateway import services

        try:
            conn = services.add_connection(o["name"], o["url"], senders=o["sender"], operators=o["operators"],
                                           prefixes=o["prefix"], priority=o["priority"])
        except services.GatewayError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("Koneksi %(n)s ditambahkan: %(u)s") % {"n": conn.name, "u": conn.safe_url})

    def do_set(self, o: dict[str, Any]) -> None:
        from warta.gateway import services

        conn = self._get(o["name"])
        active = None if o["active"] is None else o["active"] in ("yes", "ya")
        try:
            services.update_connection(conn, url=o["url"], priority=o["priority"], is_active=active)
        except services.GatewayError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("Koneksi %(n)s diubah: %(u)s") % {"n": conn.name, "u": conn.safe_url})

    def do_list(self, o: dict[str, Any]) -> None:
        from warta.gateway import services
        from warta.gateway.models import Connection

        rows = [services.describe(c) for c in Connection.objects.prefetch_related("routes__sender", "bind_leases")]
        if o["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(_("Belum ada koneksi. Tambah: warta connection add NAMA URL"))
            return
        for r in rows:
            states = " ".join(f"{b['slot']}:{b['state']}" for b in r["bind_states"])
            self.stdout.write(f"{r['name']:<16} {r['url']:<60} prio={r['priority']} window={r['window']} "
                              f"tps={r['tps']:g} binds={r['binds']} [{states}] "
                              f"sender={','.join(r['senders'])} operator={','.join(r['operators'])}"
                              + ("" if r["active"] else " " + _("(nonaktif)")))

    def do_test(self, o: dict[str, Any]) -> None:
        from warta.gateway.smppclient import SmppClientError
        from warta.gateway.transports import transport_for

        conn = self._get(o["name"])
        spec = conn.spec
        module = transport_for(spec.kind)
        if not hasattr(module, "test"):
            raise CommandError(_("Uji koneksi %(k)s belum tersedia.") % {"k": spec.kind})
        try:
            result = asyncio.run(asyncio.wait_for(module.test(spec), o["timeout"]))
        except SmppClientError as exc:
            raise CommandError(_("Uji %(n)s gagal: %(e)s") % {"n": conn.name, "e": exc}) from None
        except (TimeoutError, OSError) as exc:
            raise CommandError(_("Uji %(n)s gagal: tidak ada jawaban (%(e)s)") % {"n": conn.name, "e": exc or "timeout"}) from None
        self.stdout.write(_("Koneksi %(n)s baik: bind %(b).3f s, enquire_link %(e).3f s")
                          % {"n": conn.name, "b": result["bound_seconds"], "e": result["enquire_link_seconds"]})
