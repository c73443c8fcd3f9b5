from django.urls import path

from warta.core.views import area_placeholder

app_name = "reports"

urlpatterns = [
    path("", area_placeholder("reports", "reports/index.html"), name="index"),
]
