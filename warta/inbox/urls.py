from django.urls import path

from . import views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("tiket/<int:pk>/", views.ticket, name="ticket"),
    path("tiket/<int:pk>/balas", views.reply, name="reply"),
    path("tiket/<int:pk>/catatan", views.note, name="note"),
    path("tiket/<int:pk>/status", views.status, name="status"),
    path("tiket/<int:pk>/teruskan", views.assign, name="assign"),
    path("tiket/<int:pk>/data", views.details, name="details"),
    path("tiket/<int:pk>/blokir", views.block, name="block"),
    path("massal", views.bulk, name="bulk"),
    path("notifikasi/", views.notifications, name="notifications"),
    path("pengaturan/<slug:kind>/", views.config, name="config"),
    path("pengaturan/<slug:kind>/<int:pk>/", views.config, name="config_edit"),
]
