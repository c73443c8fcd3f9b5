from django.urls import path

from . import views

app_name = "blasts"

urlpatterns = [
    path("", views.index, name="index"),
    path("persetujuan/", views.approvals, name="approvals"),
    path("pemberitahuan/dibaca/", views.notices_read, name="notices_read"),
    path("materi/", views.materi, name="materi"),
    path("materi/baru/", views.materi_new, name="materi_new"),
    path("materi/<int:pk>/", views.materi_detail, name="materi_detail"),
    path("materi/<int:pk>/lampiran/<int:att>/", views.materi_attachment, name="materi_attachment"),
    path("materi/<int:pk>/tolak/", views.materi_reject, name="materi_reject"),
    path("naskah/baru/", views.draft_new, name="draft_new"),
    path("naskah/<int:pk>/", views.draft_detail, name="draft"),
    path("naskah/<int:pk>/ubah/", views.draft_edit, name="draft_edit"),
    path("naskah/<int:pk>/ajukan/", views.draft_submit, name="draft_submit"),
    path("naskah/<int:pk>/setujui/", views.draft_approve, name="draft_approve"),
    path("naskah/<int:pk>/kembalikan/", views.draft_send_back, name="draft_send_back"),
    path("naskah/<int:pk>/komentar/", views.draft_comment, name="draft_comment"),
    path("naskah/<int:pk>/uji/", views.draft_test, name="draft_test"),
    path("naskah/<int:pk>/batalkan/", views.draft_withdraw, name="draft_withdraw"),
    path("naskah/<int:pk>/jadikan-impor/", views.draft_convert, name="draft_convert"),
    path("naskah/<int:pk>/impor/", views.draft_import, name="draft_import"),
    path("nomor-uji/", views.staff_phone, name="staff_phone"),
    path("komposer/ukur/", views.composer_measure, name="composer_measure"),
    path("komposer/ganti/", views.composer_replace, name="composer_replace"),
    path("komposer/penerima/", views.audience_count, name="audience_count"),
    path("unit/", views.unit_blasts, name="unit_blasts"),
    path("konsol/<int:pk>/", views.blast_console, name="console"),
    path("konsol/<int:pk>/progres/", views.blast_progress, name="progress"),
    path("konsol/<int:pk>/kendali/", views.blast_control, name="control"),
    path("konsol/<int:pk>/penerima.<str:fmt>", views.blast_export, name="export"),
    path("sender-id/", views.sender_ids, name="sender_ids"),
    path("sender-id/<int:pk>/delegasi/", views.delegations, name="delegations"),
    path("templat/", views.templates, name="templates"),
]
