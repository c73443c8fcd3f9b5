from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("buat/", views.generate, name="generate"),
    path("anggaran/", views.budgets, name="budgets"),
    path("arsip-publik/", views.public_archive, name="public"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/narasi/", views.narrative, name="narrative"),
    path("<int:pk>/perbarui/", views.refresh, name="refresh"),
    path("<int:pk>/ajukan/", views.submit, name="submit"),
    path("<int:pk>/kembalikan/", views.send_back, name="send_back"),
    path("<int:pk>/setujui/", views.approve, name="approve"),
    path("<int:pk>/arsipkan/", views.archive, name="archive"),
    path("<int:pk>/publikasi/", views.publish, name="publish"),
    path("<int:pk>/berkas.<str:ext>", views.download, name="download"),
]
