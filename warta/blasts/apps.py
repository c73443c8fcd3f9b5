from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlastsConfig(AppConfig):
    name = "warta.blasts"
    verbose_name = _("Naskah & Blast")

    def ready(self) -> None:
        from warta.contacts import hooks as contact_hooks

        from . import hooks

        contact_hooks.register("subject_records", hooks.subject_records)
        contact_hooks.register("anonymise_number", hooks.anonymise_number)
