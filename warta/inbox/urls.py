from django.urls import path

from warta.core.views import area_placeholder

app_name = "inbox"

urlpatterns = [
    path("", area_placeholder("inbox", "inbox/index.html"), name="index"),
]
