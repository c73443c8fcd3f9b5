from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "warta.reports"
    verbose_name = _("Laporan")

    def ready(self) -> None:
        from warta.blasts.services import register_release_check

        from .services import budget_blocker

        # A unit over its monthly budget holds its normal blasts (issue 15); blasts asks, reports answers.
        register_release_check(budget_blocker)
