from django.urls import path

from warta.core.views import area_placeholder

app_name = "contacts"

urlpatterns = [
    path("", area_placeholder("contacts", "contacts/index.html"), name="index"),
]
