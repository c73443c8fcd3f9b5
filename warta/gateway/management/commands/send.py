"""``warta send --sender HumasDKI --to NUMBER… [--to-file FILE] TEXT``: queue an administrator's
test message (a small blast), recorded in the audit trail. A running ``warta gateway`` sends it.

A test message, not a way around a blast's approvals: it obeys the rules of the web page's test
send (``warta.blasts.testsends.queue_test_message``): the text goes out marked ``[UJI]``, to at
most ``MAX_TEST_NUMBERS`` numbers; anything else is refused and nothing is queued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from warta.blasts.testsends import MAX_TEST_NUMBERS


class Command(BaseCommand):
    help = _("Antrekan SMS uji dari administrator, bertanda [UJI], ke paling banyak %(n)d nomor (tercatat di "
             "jejak audit).") % {"n": MAX_TEST_NUMBERS}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text")
        parser.add_argument("--sender", required=True)
        parser.add_argument("--to", action="append", default=[], metavar="NUMBER")
        parser.add_argument("--to-file", type=Path, help=_("berkas berisi satu nomor per baris"))
        parser.add_argument("--emergency", action="store_true")
        parser.add_argument("--as-user", default=None, help=_("pengguna yang tercatat di audit (administrator)"))

    def handle(self, *args: Any, **o: Any) -> None:
        from warta.accounts.models import User
        from warta.accounts.permissions import has_capability
        from warta.blasts import outbox, testsends
        from warta.blasts.models import Blast

        recipients = list(o["to"])
        if o["to_file"]:
            try:
                recipients += [line.strip() for line in o["to_file"].read_text().splitlines() if line.strip()]
            except OSError as exc:
                raise CommandError(_("Berkas nomor tidak dapat dibaca: %(e)s") % {"e": exc}) from None
        if not recipients:
            raise CommandError(_("Tidak ada nomor tujuan: pakai --to NOMOR atau --to-file BERKAS."))
        actor = None
        if o["as_user"]:
            actor = User.objects.filter(username=o["as_user"]).first()
            if actor is None or not has_capability(actor, "outbox.test_send"):
                raise CommandError(_("Pengguna %(u)r tidak ada atau tidak berhak mengirim SMS uji.") % {"u": o["as_user"]})
        priorities: Any = Blast.Priority  # IntegerChoices: Any to mypy
        try:
            blast, summary = testsends.queue_test_message(
                sender=o["sender"], text=o["text"], recipients=recipients, name=_("SMS uji"),
                priority=priorities.EMERGENCY if o["emergency"] else priorities.NORMAL,
                actor=actor, audit_action="outbox.test_send")
        except (testsends.TestSendError, outbox.OutboxError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("Blast #%(id)s: %(n)d pesan diantrekan.") % {"id": blast.pk, "n": summary["queued"]})
        for raw in summary["invalid"]:
            self.stderr.write(_("Dilewati, bukan nomor seluler yang valid: %(r)s") % {"r": raw})
        if summary["duplicates"]:
            self.stderr.write(_("%(n)d nomor ganda dikirim sekali.") % {"n": summary["duplicates"]})
