from django.urls import path

from warta.core.views import area_placeholder

app_name = "insights"

urlpatterns = [
    path("", area_placeholder("insights", "insights/index.html"), name="index"),
]
