from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "warta.inbox"
    verbose_name = _("Kotak Masuk")

    def ready(self) -> None:
        from warta.gateway import hooks as gateway_hooks

        from . import hooks as inbox_hooks

        gateway_hooks.register("mobile_originated", inbox_hooks.receive_from_gateway)
        try:
            from warta.contacts import hooks as contact_hooks
        except ImportError:  # contacts not installed: nothing to tell it
            return
        from . import hooks

        contact_hooks.register("replied_to_blast", hooks.replied_to_blast)
        contact_hooks.register("subject_records", hooks.subject_records)
        contact_hooks.register("anonymise_number", hooks.anonymise_number)
        contact_hooks.register("retention_anonymise", hooks.retention_anonymise)
