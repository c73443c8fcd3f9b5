from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewayConfig(AppConfig):
    name = "warta.gateway"
    verbose_name = _("Gateway")

    def ready(self) -> None:
        from warta.core import metrics

        from . import metrics as gateway_metrics

        metrics.register(gateway_metrics.collect)
