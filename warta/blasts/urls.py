from django.urls import path

from . import views

app_name = "blasts"

urlpatterns = [
    path("", views.index, name="index"),
    path("materi/", views.materi, name="materi"),
    path("sender-id/", views.sender_ids, name="sender_ids"),
]
