from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from warta.core import demo


class Command(BaseCommand):
    help = "Isi data demo (unit, pengguna per peran, sender ID, kontak, pesan warga, aturan rute, blast). Aman dijalankan berulang."

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo.seed()
        self.stdout.write(
            f"Data demo: {result.created_units} unit, {result.created_users} pengguna, "
            f"{result.created_sender_ids} sender ID, {result.created_contacts} kontak, "
            f"{result.created_messages} pesan warga baru, {result.created_blasts} naskah blast."
        )
