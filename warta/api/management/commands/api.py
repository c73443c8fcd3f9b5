"""``warta api token create|revoke|list``: API clients and their tokens from the shell.

::

    warta api token create --client NAME --unit CODE [--scope SCOPE]… [--name LABEL] [--user USERNAME]
                           [--expires-days N] [--rate PER_SECOND] [--burst N]
    warta api token revoke PREFIX
    warta api token list [--json]

``create`` makes the client when it does not exist yet (acting as a new service account, a liaison
of the unit, unless ``--user`` names a liaison of that unit) and prints the token once, alone on
standard output. Nothing else prints it. ``--scope all`` grants every scope; without ``--scope``
the token may only hand in materi (``materi:write``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from warta.accounts.models import Unit, User
from warta.api import services
from warta.api.models import ApiClient, ApiToken


class Command(BaseCommand):
    help = _("Kelola klien dan token REST API.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        token = sub.add_parser("token", help=_("token API"))
        actions = token.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help=_("buat token (dan kliennya bila belum ada)"))
        create.add_argument("--client", required=True)
        create.add_argument("--unit", required=True, help=_("kode unit, mis. bpbd"))
        create.add_argument("--user", default="", help=_("bertindak sebagai pengguna ini (bawaan: akun layanan)"))
        create.add_argument("--expires-days", type=int, default=0)
        create.add_argument("--scope", action="append", default=[],
                            help=_("cakupan (boleh berulang) atau all; bawaan: materi:write"))
        create.add_argument("--name", default="", help=_("label token, mis. server-produksi"))
        create.add_argument("--rate", type=float, default=None, help=_("permintaan per detik (bawaan WARTA_API_RATE)"))
        create.add_argument("--burst", type=int, default=None, help=_("ledakan maksimum (bawaan WARTA_API_BURST)"))
        revoke = actions.add_parser("revoke", help=_("cabut token"))
        revoke.add_argument("prefix")
        lst = actions.add_parser("list", help=_("daftar token"))
        lst.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except services.ApiError as exc:
            raise CommandError(exc.message) from None

    def _create(self, opts: dict[str, Any]) -> None:
        try:
            unit = Unit.objects.get(code=opts["unit"])
        except Unit.DoesNotExist:
            raise CommandError(_("Unit %(code)s tidak ada.") % {"code": opts["unit"]}) from None
        client = ApiClient.objects.filter(name=slugify(opts["client"])).first()
        if client is None:
            user = None
            if opts["user"]:
                user = User.objects.filter(username=opts["user"]).first()
                if user is None:
                    raise CommandError(_("Pengguna %(u)s tidak ada.") % {"u": opts["user"]})
            client = services.create_client(opts["client"], unit, None, user=user)
        elif client.unit_id != unit.pk:
            raise CommandError(_("Klien %(name)s milik unit %(code)s.") % {"name": client.name,
                                                                           "code": client.unit.code})
        expires = timezone.now() + timedelta(days=opts["expires_days"]) if opts["expires_days"] else None
        token, value = services.issue_token(client, None, expires_at=expires, scopes=opts["scope"] or None,
                                            name=opts["name"], rate=opts["rate"], burst=opts["burst"])
        self.stderr.write(_("Token %(prefix)s untuk %(client)s (%(unit)s). Simpan sekarang: tidak ditampilkan "
                            "lagi.") % {"prefix": token.prefix, "client": client.name, "unit": unit.code})
        self.stdout.write(value)

    def _revoke(self, opts: dict[str, Any]) -> None:
        token = services.revoke_token(opts["prefix"], None)
        self.stdout.write(_("Token %(prefix)s dicabut.") % {"prefix": token.prefix})

    def _list(self, opts: dict[str, Any]) -> None:
        rows = [{"prefix": t.prefix, "client": t.client.name, "unit": t.client.unit.code,
                 "created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                 "revoked": t.revoked_at is not None, "usable": t.is_usable, "name": t.name, "scopes": t.scopes,
                 "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                 "last_used_ip": t.last_used_ip}
                for t in ApiToken.objects.select_related("client__unit")]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in rows:
            state = "aktif" if r["usable"] else ("dicabut" if r["revoked"] else "kedaluwarsa")
            self.stdout.write(f"{r['prefix']}  {r['client']}  {r['unit']}  {state}  {','.join(r['scopes'])}")
