from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "warta.accounts"
    verbose_name = _("Akun dan unit")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects login/logout auditing)
