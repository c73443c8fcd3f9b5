from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "warta.reports"
    verbose_name = _("Laporan")

    def ready(self) -> None:
        from warta.blasts.services import register_release_check
        from warta.contacts import hooks as contact_hooks

        from . import hooks
        from .services import budget_blocker

        # Erasure reaches the reports' quotes of the person, archived revisions included.
        contact_hooks.register("anonymise_number", hooks.anonymise_number)

        # A unit over its monthly budget holds its normal blasts (issue 15); blasts asks, reports answers.
        register_release_check(budget_blocker)
