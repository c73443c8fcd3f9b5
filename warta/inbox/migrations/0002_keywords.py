"""Seed the keyword table (administrators edit it afterwards)."""

from __future__ import annotations

from django.db import migrations

OPT_OUT = "Anda telah berhenti menerima SMS informasi Pemprov DKI Jakarta. Kirim DAFTAR ke {center} untuk berlangganan lagi."
OPT_IN = "Terima kasih, Anda terdaftar menerima SMS informasi Pemprov DKI Jakarta. Kirim BERHENTI ke {center} untuk berhenti."
FAIL = "Maaf, permintaan Anda belum dapat diproses. Silakan coba lagi nanti."
KEYWORDS = [
    ("BERHENTI", "opt_out", OPT_OUT, FAIL),
    ("STOP", "opt_out", OPT_OUT, FAIL),
    ("UNREG", "opt_out", OPT_OUT, FAIL),
    ("DAFTAR", "opt_in", OPT_IN, "Maaf, pendaftaran belum dapat diproses. Format: DAFTAR <nama kelurahan>."),
    ("REG", "opt_in", OPT_IN, "Maaf, pendaftaran belum dapat diproses. Format: DAFTAR <nama kelurahan>."),
    ("INFO", "info", "SMS Center Pemprov DKI Jakarta: kirim keluhan/aduan Anda ke {center}. "
     "STATUS <nomor tiket> untuk cek tiket, BERHENTI untuk berhenti berlangganan. Darurat: 112.", ""),
    ("STATUS", "status", "Tiket {ticket}: {status} ({unit}), diperbarui {updated}.", "Tiket {ticket} tidak ditemukan untuk nomor Anda. Format: STATUS <nomor tiket>."),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    Keyword = apps.get_model("inbox", "Keyword")
    for word, action, reply, error in KEYWORDS:
        Keyword.objects.get_or_create(word=word, defaults={"action": action, "reply": reply, "reply_error": error})


class Migration(migrations.Migration):
    dependencies = [("inbox", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
