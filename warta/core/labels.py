"""Indonesian labels for codes that are stored as codes: audit actions and their changed fields.

The audit trail keeps machine-readable action codes (``auth.otp_enrolled``) so exports and
filters stay stable; pages show these labels (``warta_format``'s ``code_label`` and
``audit_changes`` filters). An action without a label here is shown by its area's label and its
code, so a new action is never hidden, only less pretty until it is named here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_AREAS = {
    "auth": _("Masuk"), "user": _("Pengguna"), "unit": _("Unit"), "audit": _("Jejak audit"),
    "api": _("API"), "blasts": _("Blast"), "outbox": _("Kotak keluar"), "contacts": _("Kontak"),
    "gateway": _("Gateway"), "inbox": _("Kotak masuk"), "demo": _("Demo"), "reports": _("Laporan"),
    "insights": _("Analisis"),
}

AUDIT_ACTIONS = {
    "auth.login": _("Masuk"),
    "auth.login_failed": _("Gagal masuk"),
    "auth.logout": _("Keluar"),
    "auth.otp_enrolled": _("Verifikasi dua langkah didaftarkan"),
    "auth.otp_failed": _("Kode verifikasi dua langkah salah"),
    "auth.otp_verified": _("Verifikasi dua langkah berhasil"),
    "auth.password_changed": _("Kata sandi diubah"),
    "user.created": _("Pengguna dibuat"),
    "user.updated": _("Pengguna diubah"),
    "user.otp_reset": _("Verifikasi dua langkah pengguna direset"),
    "unit.created": _("Unit dibuat"),
    "unit.updated": _("Unit diubah"),
    "audit.exported": _("Jejak audit diekspor"),
    "api.client_created": _("Klien API dibuat"),
    "api.token_created": _("Token API dibuat"),
    "api.token_revoked": _("Token API dicabut"),
    "api.materi_submitted": _("Materi dikirim lewat API"),
    "blasts.blast_created": _("Blast dibuat"),
    "blasts.blast_released": _("Blast dilepas ke antrean"),
    "blasts.blast_paused": _("Blast dijeda"),
    "blasts.blast_resumed": _("Blast dilanjutkan"),
    "blasts.blast_cancelled": _("Blast dibatalkan"),
    "blasts.chain_changed": _("Rantai persetujuan diubah"),
    "blasts.draft_created": _("Naskah dibuat"),
    "blasts.draft_changed": _("Naskah diubah"),
    "blasts.draft_submitted": _("Naskah diajukan"),
    "blasts.draft_approved": _("Naskah disetujui"),
    "blasts.draft_sent_back": _("Naskah dikembalikan"),
    "blasts.draft_commented": _("Naskah dikomentari"),
    "blasts.draft_released": _("Naskah dirilis"),
    "blasts.draft_reopened": _("Naskah dibuka kembali"),
    "blasts.draft_withdrawn": _("Naskah dibatalkan"),
    "blasts.draft_expired": _("Naskah kedaluwarsa"),
    "blasts.materi_submitted": _("Materi diajukan"),
    "blasts.materi_taken": _("Materi diambil operator"),
    "blasts.materi_rejected": _("Materi ditolak"),
    "blasts.recipients_exported": _("Daftar penerima diekspor"),
    "blasts.template_saved": _("Templat disimpan"),
    "blasts.template_deleted": _("Templat dihapus"),
    "blasts.test_sent": _("SMS uji dikirim"),
    "blasts.watch_deleted": _("Kata pantauan dihapus"),
    "outbox.test_send": _("SMS uji administrator"),
    "contacts.update": _("Kontak diubah"),
    "contacts.opt_out": _("Berhenti berlangganan"),
    "contacts.opt_in": _("Daftar berlangganan"),
    "contacts.erase": _("Data pribadi dihapus"),
    "contacts.restrict": _("Pemrosesan dibatasi"),
    "contacts.restrict_lift": _("Pembatasan pemrosesan dicabut"),
    "contacts.export": _("Kontak diekspor"),
    "contacts.export_rejects": _("Baris impor yang ditolak diunduh"),
    "contacts.reveal_number": _("Nomor lengkap dilihat"),
    "contacts.import_upload": _("Berkas impor diunggah"),
    "contacts.import_dry_run": _("Uji coba impor"),
    "contacts.import": _("Impor kontak"),
    "contacts.group_create": _("Grup dibuat"),
    "contacts.group_add": _("Kontak ditambahkan ke grup"),
    "contacts.segment_create": _("Segmen dibuat"),
    "contacts.retention": _("Retensi data dijalankan"),
    "contacts.dsr_open": _("Permintaan subjek data dibuka"),
    "contacts.dsr_close": _("Permintaan subjek data ditutup"),
    "contacts.dsr_escalate": _("Permintaan subjek data dieskalasi"),
    "contacts.dsr_export": _("Data subjek diekspor"),
    "gateway.connection_added": _("Koneksi gateway ditambahkan"),
    "gateway.connection_changed": _("Koneksi gateway diubah"),
    "inbox.ticket.status": _("Status tiket diubah"),
    "inbox.ticket.assign": _("Tiket diteruskan/ditugaskan"),
    "inbox.ticket.edit": _("Data tiket diubah"),
    "inbox.ticket.note": _("Catatan tiket"),
    "inbox.ticket.reply": _("Balasan ke warga"),
    "inbox.ticket.escalate": _("Tiket dieskalasi (SLA)"),
    "inbox.block": _("Nomor diblokir"),
    "inbox.unblock": _("Blokir nomor dicabut"),
    "inbox.sms_ack": _("Tanda terima SMS ke warga"),
    "inbox.sms_keyword": _("Balasan kata kunci ke warga"),
    "inbox.sms_reply": _("Balasan petugas ke warga"),
    "inbox.sms_notice": _("Kabar tiket ke warga"),
    "demo.seeded": _("Data demo diisi"),
}

# "inbox.kata-kunci.edit": the inbox's settings tables, by table and verb.
INBOX_TABLES = {
    "kata-kunci": _("kata kunci"), "aturan-rute": _("aturan rute"), "balasan": _("balasan siap pakai"),
    "hari-libur": _("hari libur"), "blokir": _("nomor diblokir"), "templat-sms": _("templat SMS ke warga"),
}
BLAST_SETTING_SAVED = _("Pengaturan blast disimpan")
VERBS = {"create": _("ditambah"), "edit": _("diubah"), "delete": _("dihapus"), "saved": _("disimpan")}

# Names of fields that appear in ``changes``.
FIELDS = {
    "state": _("keadaan"), "status": _("status"), "unit": _("unit"), "assignee": _("petugas"), "text": _("teks"),
    "note": _("catatan"), "name": _("nama"), "role": _("peran"), "is_active": _("aktif"), "topic": _("topik"),
    "region": _("wilayah"), "reason": _("alasan"), "address": _("nomor"), "clock": _("jam SLA"), "to": _("kepada"),
    "outbox_id": _("id kotak keluar"), "filters": _("saringan"), "rows": _("baris"), "dry_run": _("uji coba"),
    "kind": _("jenis"), "word": _("kata"), "reply": _("balasan"), "pattern": _("pola"), "priority": _("prioritas"),
}


# Operators as brands (the codes stay in the data); no carrier data is "tidak diketahui".
OPERATOR_LABELS = {"telkomsel": "Telkomsel", "indosat": "Indosat", "xl": "XL", "tri": "3 (Tri)",
                   "smartfren": "Smartfren", "unknown": _("tidak diketahui")}


def operator_name(code: object) -> str:
    text = str(code or "").strip()
    if not text:
        return str(OPERATOR_LABELS["unknown"])
    return str(OPERATOR_LABELS.get(text.lower(), text))


def audit_action(code: str) -> str:
    label = AUDIT_ACTIONS.get(code)
    if label is not None:
        return str(label)
    parts = code.split(".")
    if len(parts) == 3 and parts[0] == "inbox" and parts[1] in INBOX_TABLES:
        table = str(INBOX_TABLES[parts[1]])
        return f"{table[:1].upper()}{table[1:]} {VERBS.get(parts[2], parts[2])}"
    if len(parts) >= 2 and parts[1].endswith("_saved") and parts[0] == "blasts":
        return f"{BLAST_SETTING_SAVED} ({parts[1][:-6]})"
    area = AUDIT_AREAS.get(parts[0])
    return f"{area}: {code}" if area else code


def field_name(key: str) -> str:
    return str(FIELDS.get(key, key.replace("_", " ")))
