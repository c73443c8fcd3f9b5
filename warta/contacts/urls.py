from django.urls import path

from . import views

app_name = "contacts"

urlpatterns = [
    path("", views.index, name="index"),
    path("ekspor/", views.export, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/nomor/", views.reveal, name="reveal"),
    path("<int:pk>/berhenti/", views.contact_opt_out, name="opt_out"),
    path("<int:pk>/daftar/", views.contact_opt_in, name="opt_in"),
    path("berhenti/", views.optouts, name="optouts"),
    path("impor/", views.import_list, name="imports"),
    path("impor/<int:pk>/", views.import_job, name="import_job"),
    path("impor/<int:pk>/progres/", views.import_progress, name="import_progress"),
    path("impor/<int:pk>/jalankan/", views.import_run, name="import_run"),
    path("impor/<int:pk>/ditolak.csv", views.import_rejects, name="import_rejects"),
    path("grup/", views.groups, name="groups"),
    path("grup/<int:pk>/", views.group, name="group"),
    path("segmen/", views.segments, name="segments"),
    path("segmen/hitung/", views.segment_count, name="segment_count"),
    path("segmen/<int:pk>/", views.segment, name="segment"),
    path("permintaan-data/", views.requests_list, name="requests"),
    path("permintaan-data/<int:pk>/", views.request_detail, name="request"),
]
