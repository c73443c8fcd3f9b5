from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from warta.core import views as core_views

handler403 = "warta.core.views.error_403"
handler404 = "warta.core.views.error_404"
handler500 = "django.views.defaults.server_error"

urlpatterns = [
    path("", include("warta.core.urls")),
    path("", include("warta.accounts.urls")),
    path("blast/", include("warta.blasts.urls")),
    path("kontak/", include("warta.contacts.urls")),
    path("kotak-masuk/", include("warta.inbox.urls")),
    path("analisis/", include("warta.insights.urls")),
    path("laporan/", include("warta.reports.urls")),
    path("pengaturan/gateway/", include("warta.gateway.urls")),
    path("gateway/kannel/", include("warta.gateway.callback_urls")),  # Kannel's dlr-url, get-url
    path("api/v1/", include("warta.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", core_views.metrics_view, name="metrics"),
]
