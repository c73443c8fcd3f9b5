"""``warta db-app-role ROLE [--password-file FILE] [--print]``: the PostgreSQL role Warta runs as.

Run once, as the migration role (the owner of Warta's tables, the ``DATABASE_URL`` used for
``warta migrate``). It creates ROLE when missing (needs CREATEROLE; otherwise ``--print`` gives the
SQL for a database administrator) and grants it what the services need: every table for reading
and writing, except the audit trail, which it may only read and append to. Not owning the table,
it cannot lift the triggers either. See docs/deploy.md and warta/accounts/auditdb.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import gettext as _

from warta.accounts.auditdb import TABLE, app_role_sql


class Command(BaseCommand):
    help = "Buat/perbarui peran PostgreSQL aplikasi yang tidak memiliki tabel jejak audit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role")
        parser.add_argument("--password-file", help="berkas berisi kata sandi peran baru (LOGIN)")
        parser.add_argument("--print", action="store_true", dest="print_only",
                            help="hanya cetak SQL-nya, jangan jalankan")

    def handle(self, *args: Any, **options: Any) -> None:
        from psycopg import sql

        if connection.vendor != "postgresql":
            raise CommandError(_("Perintah ini hanya untuk PostgreSQL (DATABASE_URL=postgres://…). "
                                 "SQLite tidak mengenal peran; trigger tetap menolak UPDATE/DELETE."))
        role = options["role"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [TABLE])
            row = cursor.fetchone()
            if row is None:
                raise CommandError(_("Tabel jejak audit belum ada. Jalankan `warta migrate` dulu."))
            owner = row[0]
            if role == owner:
                raise CommandError(_("Peran %(role)s adalah pemilik tabel; pilih nama lain untuk aplikasi.")
                                   % {"role": role})
            cursor.execute("SELECT rolsuper, pg_has_role(%s, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                           [role, owner, role])
            existing = cursor.fetchone()
        if existing is not None and (existing[0] or existing[1]):
            raise CommandError(_("Peran %(role)s adalah superuser atau anggota %(owner)s: ia tetap bisa menghapus "
                                 "jejak audit. Gunakan peran lain.") % {"role": role, "owner": owner})
        statements: list[str] = []
        if existing is None:
            create = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT").format(
                sql.Identifier(role))
            if options["password_file"]:
                password = Path(options["password_file"]).read_text().strip()
                create = sql.SQL("{} PASSWORD {}").format(create, sql.Literal(password))
            statements.append(create.as_string(None))
        statements += app_role_sql(role, connection.settings_dict["NAME"], owner)
        if options["print_only"]:
            for statement in statements:
                self.stdout.write(statement + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(_(
            "Peran %(role)s siap: baca/tulis semua tabel, jejak audit hanya SELECT dan INSERT. "
            "Layanan memakai DATABASE_URL dengan peran %(role)s; `warta migrate` tetap dengan %(owner)s."
        ) % {"role": role, "owner": owner})
